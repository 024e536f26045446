export * from './split/index.js';
