// The client's byte helpers are the shared ones (relay and browser codecs use the same cursor).
export { ByteReader, bytesEqual, concatBytes, u16, u32, u64, utf8 } from '../../../../shared/bytes.ts';
