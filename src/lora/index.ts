/** LoRA and QLoRA: adapters over frozen (optionally int4) linear layers, in PEFT's file layout. */
export { LoraLinear, checkRank, type AdapterSettings, type BaseLinear } from './lora-linear.js';
export { ALL_LINEAR, addAdapter, setActiveAdapter, setTrainable, countParameters, baseWeightBytes, mergeAndUnload, unloadAdapters, linearLayers, loraLayers, resolveTargets, type LoraOptions, type TargetSpec } from './adapters.js';
export { Int4Conv1D, quantizeLinearLayers } from './int4-linear.js';
