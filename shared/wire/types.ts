// Typed forms of every API message in ../shared/spec/api-wire-format.md.
// Codecs in this folder turn these into bytes and back; nothing here touches node:*.

export const MessageType = {
  GOSSIP_ANNOUNCE: 500,
  GOSSIP_NOTIFY: 501,
  GOSSIP_NOTIFICATION: 502,
  GOSSIP_VALIDATION: 503,
  NSE_QUERY: 520,
  NSE_ESTIMATE: 521,
  RPS_QUERY: 540,
  RPS_PEER: 541,
  ONION_TUNNEL_BUILD: 560,
  ONION_TUNNEL_READY: 561,
  ONION_TUNNEL_INCOMING: 562,
  ONION_TUNNEL_DESTROY: 563,
  ONION_TUNNEL_DATA: 564,
  ONION_ERROR: 565,
  ONION_COVER: 566,
  DHT_PUT: 650,
  DHT_GET: 651,
  DHT_SUCCESS: 652,
  DHT_FAILURE: 653,
} as const;

export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** Module ids used in the RPS portmap (they equal the first type of each module's range). */
export const ModuleId = { GOSSIP: 500, NSE: 520, ONION: 560, DHT: 650 } as const;

/** Header: size (u16) + type (u16). */
export const HEADER_SIZE = 4;
export const MAX_MESSAGE_SIZE = 65535;

/** An IP address as text: dotted quad for IPv4, RFC 5952 form for IPv6. */
export type IpText = string;

export interface GossipAnnounce {
  type: 500;
  ttl: number;
  dataType: number;
  data: Uint8Array;
}
export interface GossipNotify {
  type: 501;
  dataType: number;
}
export interface GossipNotification {
  type: 502;
  messageId: number;
  dataType: number;
  data: Uint8Array;
}
export interface GossipValidation {
  type: 503;
  messageId: number;
  valid: boolean;
}
export interface NseQuery {
  type: 520;
}
export interface NseEstimate {
  type: 521;
  estimate: number;
  deviation: number;
}
export interface RpsQuery {
  type: 540;
}
export interface PortMapEntry {
  module: number;
  port: number;
}
export interface RpsPeer {
  type: 541;
  port: number;
  portmap: PortMapEntry[];
  address: IpText;
  hostkey: Uint8Array;
}
export interface OnionTunnelBuild {
  type: 560;
  port: number;
  address: IpText;
  hostkey: Uint8Array;
}
export interface OnionTunnelReady {
  type: 561;
  tunnelId: number;
  hostkey: Uint8Array;
}
export interface OnionTunnelIncoming {
  type: 562;
  tunnelId: number;
}
export interface OnionTunnelDestroy {
  type: 563;
  tunnelId: number;
}
export interface OnionTunnelData {
  type: 564;
  tunnelId: number;
  data: Uint8Array;
}
export interface OnionError {
  type: 565;
  requestType: number;
  tunnelId: number;
}
export interface OnionCover {
  type: 566;
  coverSize: number;
}
export interface DhtPut {
  type: 650;
  ttl: number;
  replication: number;
  key: Uint8Array;
  value: Uint8Array;
}
export interface DhtGet {
  type: 651;
  key: Uint8Array;
}
export interface DhtSuccess {
  type: 652;
  key: Uint8Array;
  value: Uint8Array;
}
export interface DhtFailure {
  type: 653;
  key: Uint8Array;
}

export type ApiMessage =
  | GossipAnnounce
  | GossipNotify
  | GossipNotification
  | GossipValidation
  | NseQuery
  | NseEstimate
  | RpsQuery
  | RpsPeer
  | OnionTunnelBuild
  | OnionTunnelReady
  | OnionTunnelIncoming
  | OnionTunnelDestroy
  | OnionTunnelData
  | OnionError
  | OnionCover
  | DhtPut
  | DhtGet
  | DhtSuccess
  | DhtFailure;

/** Narrow the union by type number: MessageOf<564> is OnionTunnelData. */
export type MessageOf<T extends ApiMessage['type']> = Extract<ApiMessage, { type: T }>;
