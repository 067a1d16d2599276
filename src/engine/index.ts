export { Router, createRouter, type RouterParts } from './router.js';
