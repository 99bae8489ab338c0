export const INFRASTRUCTURE = Symbol('INFRASTRUCTURE');
export const LOGGER = Symbol('LOGGER');
