/**
 * The set-associative machinery every translation cache of the simulator is built on — the
 * IOTLB, PASID cache and paging-structure cache of the VT-d unit and the device TLB of an
 * accelerator. A leaf: it imports nothing else of the model. See README.md.
 */

export * from './page-tlb.js';
export * from './params.js';
export * from './set-assoc.js';
export * from './way-cache.js';
