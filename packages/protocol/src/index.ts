export * from './errors.js';
export * from './names.js';
export * from './epochs.js';
export * from './frames.js';
export * from './validate.js';
export * from './guards.js';
export * from './push.js';
