export { Router, createRouter, type RouterParts } from './router.js';
export { train, type TrainOptions, type TrainReport } from './train.js';
export { saveRouterModel, loadRouterModel } from './model.js';
