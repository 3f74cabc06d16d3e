/**
 * Every VT-d bit layout, once (DESIGN §4 `layout/`): field-table machinery, page request and
 * page group response descriptors, invalidation descriptors, PASID directory/table entries,
 * root/context entries, fault record, x86-64 PTE, fault-reason and response codes. The public
 * codecs of DESIGN §6 are `encodePageRequest` / `decodePageRequest`,
 * `encodePageGroupResponse` / `decodePageGroupResponse` and `encodeInvDesc` / `decodeInvDesc`.
 */

export * from './context-entry.js';
export * from './fault-record.js';
export * from './field.js';
export * from './inv-desc.js';
export * from './page-group-response.js';
export * from './page-request.js';
export * from './pasid-table.js';
export * from './pte.js';
export * from './response-codes.js';
