// Every decode failure is a WireError with a stable code, so callers can log and test the reason.

export type WireErrorCode =
  | 'SIZE_TOO_SMALL' // declared size < 4
  | 'SIZE_MISMATCH' // declared size != bytes given
  | 'TRUNCATED' // fewer bytes than the header or fixed part needs
  | 'TOO_LARGE' // encode: the message would exceed 65535 bytes
  | 'UNKNOWN_TYPE' // type not in the wire-format table (or not accepted by this module)
  | 'BAD_FIXED_SIZE' // a fixed-size message with the wrong size
  | 'BAD_ADDRESS' // IP flag does not match, or unparsable address text
  | 'EMPTY_VALUE' // DHT PUT without a value
  | 'EMPTY_HOSTKEY' // a hostkey field with no bytes
  | 'BAD_FIELD'; // a field value out of range (encode side) or otherwise invalid

export class WireError extends Error {
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'WireError';
    this.code = code;
  }
}
