/** `wgrad info`: the adapter, the limits the engine requested, and versions. */
import { Command } from 'commander';
import { init } from '../gpu/acquire.js';

export function infoCommand(): Command {
  return new Command('info').description('print the WebGPU adapter, its limits and versions').action(async () => {
    const device = await init();
    const { vendor, architecture, description } = device.adapterInfo;
    console.log(`adapter:  ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);
    console.log(`node:     ${process.version}`);
    for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension'] as const) {
      console.log(`${name.padEnd(34)} ${device.limits[name]}`);
    }
    device.destroy();
  });
}
