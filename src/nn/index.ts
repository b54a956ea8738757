/** Forward (pre-)hooks on tfjs layers and mmcv.cnn-style weight initialisers. */
export * from './forward-hooks.js';
export * from './initializers.js';
