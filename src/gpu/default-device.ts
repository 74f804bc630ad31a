/**
 * The device that creation functions use when none is passed: the one the latest `init()` returned
 * (or one set with `useDevice`). Passing `{ device }` always wins; nothing else depends on this.
 */
import { DeviceError } from '../errors.js';
import type { Device } from './device.js';

let current: Device | null = null;

/** Make `device` the one creation functions use when no `{ device }` is given (null: none). */
export function useDevice(device: Device | null): void {
  current = device;
}

export function defaultDevice(where: string): Device {
  if (!current) {
    throw new DeviceError(where, 'no device: init() has not been called (or its device was destroyed)', 'call `const gpu = await init()` first, or pass { device }');
  }
  return current;
}

export function forgetDevice(device: Device): void {
  if (current === device) current = null;
}
