export { freePort } from '../ports';
