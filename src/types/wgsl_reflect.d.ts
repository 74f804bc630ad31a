// wgsl_reflect's ES-module build has no type file of its own; it exports what the package's types declare.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
