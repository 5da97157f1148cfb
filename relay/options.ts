// Every config option of every section: name, default and meaning, as the operator reads them.
// The one source of truth for the README/docs tables (`npm run docs:options` writes them, a test
// checks they are current) and for the comments of the config `voidphone-relay init` writes. The
// readers (each module's config.ts) apply the defaults; test/unit/option-tables.test.ts checks that
// every key they read is listed here. Text is Markdown (backticks), as shown in the docs.

export interface OptionRow {
  /** One row may document several related keys (alpha, beta). */
  readonly keys: readonly string[];
  readonly default: string;
  readonly meaning: string;
}

export const OPTION_SECTIONS = ['gossip', 'nse', 'rps', 'onion', 'dht', 'bridge', 'metrics'] as const;
export type OptionSection = (typeof OPTION_SECTIONS)[number];

export const OPTIONS: Record<OptionSection, readonly OptionRow[]> = {
  gossip: [
    {
      keys: ['api_address'],
      default: '(required)',
      meaning: 'where the API (GOSSIP ANNOUNCE/NOTIFY/NOTIFICATION/VALIDATION) listens, `host:port`',
    },
    {
      keys: ['p2p_address'],
      default: '(required)',
      meaning: 'where the gossip P2P listener binds, e.g. `0.0.0.0:6001`',
    },
    {
      keys: ['p2p_advertise'],
      default: '`p2p_address`',
      meaning:
        'the IP (optionally `IP:port`, when a NAT forwards another port) peers are told; required when `p2p_address` binds `0.0.0.0`/`::`. Unspecified is refused, and so is loopback on a listener bound beyond loopback (unless `dial_private_addresses = true`: a test network on one machine). See docs/operating.md; its port goes into link handshakes',
    },
    {
      keys: ['bootstrapper'],
      default: '(none)',
      meaning:
        'one or more P2P addresses (comma or space separated) to join through; none = this relay is a bootstrap node',
    },
    {
      keys: ['degree'],
      default: '8',
      meaning:
        'neighbours this relay dials up to, and the fan-out: each new item is pushed to `degree` random neighbours not known to have it',
    },
    {
      keys: ['cache_size'],
      default: '50',
      meaning:
        'items in the knowledge base (served to pulls), oldest out; once it is full no data type keeps more than half of it (a flood of one type cannot evict the others)',
    },
    {
      keys: ['pow_bits'],
      default: '16',
      meaning:
        'leading zero bits of SHA-256(identity || nonce) required of every peer (and shown by us); all relays of a network must agree. ~0.1 s once per process at 16',
    },
    {
      keys: ['max_connections'],
      default: 'max(32, degree+1)',
      meaning:
        'neighbours at most (dialled + accepted). A relay at the cap still answers a newcomer\'s peer exchange, then closes ("full")',
    },
    {
      keys: ['maintain_interval_ms'],
      default: '1000',
      meaning: 'how often to top up neighbours from the address book',
    },
    {
      keys: ['pull_interval_ms'],
      default: '5000',
      meaning: 'how often to send a DIGEST to one random neighbour (pull of missed items)',
    },
    {
      keys: ['pex_interval_ms'],
      default: '10000',
      meaning: 'how often to ask one random neighbour for peers',
    },
    {
      keys: ['validation_timeout_ms'],
      default: '5000',
      meaning:
        "how long to wait for local VALIDATIONs of a peer's item; then it is spread only if at least one said valid and none invalid",
    },
    {
      keys: ['dial_backoff_ms'],
      default: '1000',
      meaning:
        'first retry delay after a failed dial (doubles per failure, max 60 s, ±50% jitter; an address failing 7 times is forgotten, bootstrappers never)',
    },
    {
      keys: ['handshake_timeout_ms'],
      default: '3000',
      meaning: 'link handshake deadline (docs/p2p-link.md)',
    },
    {
      keys: ['idle_timeout_ms'],
      default: '90000',
      meaning: 'a link silent this long is closed (links send PINGs after a third of it)',
    },
    {
      keys: ['rate_msgs'],
      default: '500',
      meaning: 'per-link received frames per second (burst 2x); exceeding it drops the peer',
    },
    {
      keys: ['rate_bytes'],
      default: '4194304',
      meaning: 'per-link received bytes per second (burst 2x); exceeding it drops the peer',
    },
    {
      keys: ['push_rate'],
      default: '100',
      meaning:
        'items (PUSH frames) accepted from one neighbour per second (burst 2x), whatever the link rate allows; more are dropped (not forwarded, not validated)',
    },
    {
      keys: ['lazy_push'],
      default: 'true',
      meaning:
        'send IHAVE (item ids) to the neighbours the eager push skipped; they may ask for the item (IWANT). Closes the coverage tail',
    },
    {
      keys: ['dial_private_addresses'],
      default: '`true` if `p2p_advertise` is loopback/private',
      meaning:
        'dial loopback, private, link-local and multicast addresses learnt from peers (PEERS); else they are ignored. Bootstrappers are always dialled',
    },
    {
      keys: ['status_seconds'],
      default: '60',
      meaning:
        'an info line with neighbours, cached items and traffic since the last line this often; 0: never',
    },
  ],
  nse: [
    {
      keys: ['api_address'],
      default: '(required)',
      meaning: '`host:port` of the NSE API (QUERY 520 / ESTIMATE 521).',
    },
    {
      keys: ['round_seconds'],
      default: '`60`',
      meaning:
        'Round length (0.5 … 86400, fractions allowed). Rounds are aligned to wall-clock time (`floor(unix_ms / round_ms)`); **every peer must use the same value** (it is part of each claim and of the round keys).',
    },
    {
      keys: ['history_rounds'],
      default: '`16`',
      meaning:
        'Finished rounds the ESTIMATE is averaged over (1 … 1024); also the window of the standard deviation.',
    },
    {
      keys: ['pow_bits'],
      default: '`20`',
      meaning:
        "Leading zero bits of SHA-256(identity ‖ nonce) a claim's proof of work must have (0 … 32). Must be the same network-wide. About 1 s of one core once per identity at 20.",
    },
    {
      keys: ['keys_per_round'],
      default: '`4`',
      meaning:
        'Independent round keys K (1 … 16). 1 = plain GNUnet NSE. See "Beyond GNUnet". Same network-wide.',
    },
    {
      keys: ['send_window'],
      default: '`0.5`',
      meaning:
        'Fraction of the round in which claims are sent (0.05 … 0.9); the rest lets the last floods finish.',
    },
    {
      keys: ['clock_skew_ms'],
      default: '`2000`',
      meaning:
        'Clock disagreement tolerated (capped at a quarter round): a claim is accepted this early, and a round is closed this late.',
    },
    {
      keys: ['status_seconds'],
      default: '`60`',
      meaning:
        'An info line with the estimate, the Gossip link and the claims sent and judged since the last line this often; 0: never.',
    },
  ],
  rps: [
    {
      keys: ['handshake_timeout'],
      default: '3',
      meaning:
        'inbound link handshake deadline in seconds (a half-open handshake holds a listener slot until then)',
    },
    {
      keys: ['api_address'],
      default: '(required)',
      meaning: 'where RPS QUERY / RPS PEER (540/541) are served',
    },
    {
      keys: ['p2p_address'],
      default: '(required)',
      meaning: 'where our P2P protocol (pushes, pulls, probes) binds; advertised as module id 540',
    },
    {
      keys: ['p2p_advertise'],
      default: '`p2p_address`',
      meaning:
        'the IP (optionally `IP:port`, when a NAT forwards another port) peers are told; required when `p2p_address` binds `0.0.0.0`/`::`. Unspecified is refused, and so is loopback on a listener bound beyond loopback (unless `dial_private_addresses = true`: a test network on one machine). See docs/operating.md. Its IP is the one our peer record carries, so every section must advertise that same IP. `advertise_ip` is the deprecated name of its IP part',
    },
    {
      keys: ['store'],
      default: 'none (no persistence)',
      meaning: 'file holding known peers, samplers and view (JSON; relative to the config file)',
    },
    {
      keys: ['save_interval'],
      default: '30',
      meaning: 'how often the store is written (always also at stop, with fsync)',
    },
    {
      keys: ['bootstrapper'],
      default: 'none',
      meaning:
        'RPS P2P addresses to pull from at start and whenever no peer is known (identity learnt in the handshake); normally peers come from Gossip',
    },
    {
      keys: ['round_interval'],
      default: '10',
      meaning: 'length of a Brahms round (push, pull, view renewal, probes)',
    },
    {
      keys: ['announce_interval'],
      default: '60',
      meaning: 'how often our signed record is announced through Gossip',
    },
    {
      keys: ['record_max_age'],
      default: '900',
      meaning: 'records older than this (by their signed time) are refused from Gossip, pushes and pulls',
    },
    { keys: ['max_clock_skew'], default: '60', meaning: 'records dated further in the future are refused' },
    {
      keys: ['probe_max_age'],
      default: '`round_interval`',
      meaning: 'a peer is handed out only if it answered a probe this recently (else it is probed first)',
    },
    { keys: ['probe_timeout'], default: '3', meaning: 'wait for a PROBE/PULL reply' },
    { keys: ['connect_timeout'], default: '10', meaning: 'TCP connect + link handshake' },
    {
      keys: ['tombstone_ttl'],
      default: '300',
      meaning:
        'after a failed probe, records of that peer no older than the one that died are refused this long (a push by the peer itself lifts it)',
    },
    {
      keys: ['query_timeout'],
      default: '10',
      meaning: 'how long an RPS QUERY waits for a live peer before the API connection is closed',
    },
    {
      keys: ['max_pending_queries'],
      default: '64',
      meaning: 'queries waiting on one API connection; more is an API violation',
    },
    {
      keys: ['alpha', 'beta'],
      default: '0.45, 0.45',
      meaning: 'Brahms shares of the view renewed from pushes (α) and pulls (β); γ = 1 − α − β from samplers',
    },
    {
      keys: ['view_factor', 'view_min', 'view_max'],
      default: '4, 6, 256',
      meaning: 'view size l1 = clamp(view_factor · ∛N)',
    },
    {
      keys: ['sampler_factor', 'sampler_min', 'sampler_max'],
      default: '4, 16, 512',
      meaning: 'sampler count l2 = clamp(sampler_factor · ∛N)',
    },
    {
      keys: ['default_size'],
      default: '64',
      meaning: "N used while NSE is absent or silent (N = NSE's estimate otherwise, read each round)",
    },
    {
      keys: ['max_peers'],
      default: '2048',
      meaning:
        'size of the peer table (history); when full only an entry with no sign of life for `record_max_age` is evicted',
    },
    { keys: ['min_key_bits'], default: '4096', meaning: 'smallest RSA hostkey accepted in a record' },
    {
      keys: ['pow_bits'],
      default: '16',
      meaning: 'link-handshake proof of work required of RPS peers (and shown by us)',
    },
    {
      keys: ['dial_private_addresses'],
      default: '`true` if the advertised IP is loopback/private',
      meaning: 'accept peer records naming loopback, private, link-local addresses; else they are refused',
    },
    {
      keys: ['max_links'],
      default: '64',
      meaning: 'P2P links kept open (least recently used closed first); the listener accepts 2× this',
    },
    {
      keys: ['status_seconds'],
      default: '60',
      meaning: 'an info line with the view, samplers, peers known and network size this often; 0: never',
    },
  ],
  onion: [
    { keys: ['api_address'], default: '(required)', meaning: 'where the Onion API listens (`host:port`)' },
    {
      keys: ['p2p_address'],
      default: '`127.0.0.1:0` (any free port: not advertised)',
      meaning:
        'where the P2P (link) listener binds, e.g. `0.0.0.0:6601`; replaces `p2p_hostname` + `p2p_port` (deprecated, still read with a warning)',
    },
    {
      keys: ['p2p_advertise'],
      default: '`p2p_address`',
      meaning:
        'the IP (optionally `IP:port`, when a NAT forwards another port) peers are told; required when `p2p_address` binds `0.0.0.0`/`::`. Unspecified is refused, and so is loopback on a listener bound beyond loopback (unless `extend_private_addresses = true`: a test network on one machine). See docs/operating.md. Announced in presence and, as module 560, in our RPS record',
    },
    {
      keys: ['hops'],
      default: '`2` (min 2, max 8)',
      meaning: 'intermediate relays per tunnel; the destination is the hop after them',
    },
    {
      keys: ['round_seconds'],
      default: '`60`',
      meaning: 'round length; boundaries at multiples of it since the Unix epoch (wall clock)',
    },
    {
      keys: ['build_timeout_ms'],
      default: '`5000`',
      meaning: "BUILD answers READY or ONION ERROR within this; also bounds each round's rebuild",
    },
    {
      keys: ['step_timeout_ms'],
      default: '`min(2000, build_timeout_ms)`',
      meaning: 'timeout of each build step (link handshake, CREATE, EXTEND, OPEN)',
    },
    {
      keys: ['grace_ms'],
      default: '`min(2000, round/4)`',
      meaning: "how long an old round's circuit keeps receiving after the switch",
    },
    {
      keys: ['cover_tunnel'],
      default: '`true`',
      meaning: 'keep a cover tunnel to a random destination every round',
    },
    {
      keys: ['cover_phase_rounds'],
      default: '`30`',
      meaning:
        "the phase at which a cover tunnel's destination answers (sent in OPEN) is kept from round to round, as a call's two clocks keep theirs, and drawn anew about once in this many rounds and after each call of ours",
    },
    {
      keys: ['wire_clock'],
      default: '`relay`',
      meaning:
        "`relay`: the cells a tunnel's endpoint sends for its client (cover or call, both ends) leave on this relay's own 20 ms slot clock, phase-locked to the client a few ms ahead; `client`: each cell as the client's message arrives (the old behaviour: the wire shows the client's timer; for comparison only)",
    },
    {
      keys: ['hop_clock'],
      default: '`true`',
      meaning:
        '`true`: cells this relay forwards as a middle hop also leave on a 20 ms slot clock per circuit and direction, so every stream on a link carries one clock\'s timing whatever the relay\'s role (~5 ms per hop each way, builds ~70 ms slower); `false`: forwarded at once, as before (docs/onion-protocol.md "Inter-arrival KS, re-posed")',
    },
    {
      keys: ['cover_reply'],
      default: '`clock`',
      meaning:
        "`clock`: a cover tunnel's destination answers on its own 20 ms clock (random phase, own drift, queued echo bytes or fresh random ones); `echo`: each COVER echoed at once (the old behaviour: a hop sees cover through it; for comparison only)",
    },
    {
      keys: ['relay_cover'],
      default: '`true`',
      meaning:
        'while no API client sends COVER or holds a tunnel (no page open), send a page\'s cover ourselves, one call packet per 20 ms through the cover tunnel, so the links look the same whether the user is online or not (docs/onion-protocol.md "Relay cover")',
    },
    {
      keys: ['build_in_slot'],
      default: '`true`',
      meaning:
        'a BUILD arriving while the cover tunnel runs waits for the round\'s one random build slot and is built there instead of the cover circuit; READY comes at the boundary, the cover circuit is retired as in an idle round (our client BUILDs at once, keeps its cover going and waits a round plus 30 s for READY). `false`: built at once (a call\'s round then has two new circuits; see "Unobservability")',
    },
    {
      keys: ['unclaimed_tunnel_ms'],
      default: '`30000`',
      meaning:
        'a tunnel opened while no API client is connected is answered OPENED like any other, its data dropped, and ended (END) after this long, as the client ends a tunnel that brought no offer (its offer wait is the same constant, shared/onion-timing.ts; change both or neither): OPEN is no online oracle',
    },
    {
      keys: ['idle_circuit_ms'],
      default: '`300000`',
      meaning:
        'a hop circuit (middle hop or destination) that carried no cell either way for this long is closed both ways (swept every quarter of it); calls and cover carry 50 cells/s',
    },
    {
      keys: ['num_guards'],
      default: '`2`',
      meaning:
        "entry guards kept; every circuit's first hop is the first guard that is up and not the destination (0: a random first hop per circuit, the old behaviour)",
    },
    {
      keys: ['guard_lifetime_days'],
      default: '`60`',
      meaning: 'a guard is kept this long, then replaced by a fresh random one',
    },
    {
      keys: ['guard_down_seconds'],
      default: '`86400`',
      meaning:
        'a guard whose link or CREATE has failed on every try for this long is replaced (until then the next guard is used)',
    },
    {
      keys: ['guard_retry_seconds'],
      default: '`600`',
      meaning: 'an unreachable guard is tried again after this long',
    },
    {
      keys: ['guard_state'],
      default: '`onion-guards-<identity prefix>.json` next to the config',
      meaning: "the guards' state file (JSON, written atomically: temp file + rename, mode 0600)",
    },
    {
      keys: ['family'],
      default: '(none)',
      meaning:
        "this relay's family, as Tor's MyFamily: hex identities (64 digits) of the other relays its operator runs, comma-separated; they are never hops of our paths",
    },
    {
      keys: ['families'],
      default: '(none)',
      meaning:
        "other operators' families as they publish them: `id, id | id, id` (groups separated by `|`; INI takes `;` for a comment); a path never holds two relays of one group",
    },
    {
      keys: ['distinct_subnets'],
      default: '`false` if `p2p_advertise` is loopback/private, else `true`',
      meaning: 'no two relays of one /16 (IPv6: /32) in a path, hops and destination',
    },
    { keys: ['max_links'], default: '`1024`', meaning: 'links (inbound + outbound, incl. handshaking)' },
    {
      keys: ['max_circuits_per_link'],
      default: '`1024`',
      meaning: 'circuits one link may carry (CREATE beyond gets DESTROY)',
    },
    {
      keys: ['max_hop_circuits'],
      default: '`8192`',
      meaning: 'circuits this relay carries as a hop or endpoint',
    },
    {
      keys: ['creates_per_second'],
      default: '`200`',
      meaning: 'CREATEs one link may send per second (burst twice that); beyond, DESTROY',
    },
    {
      keys: ['max_tunnels_per_connection'],
      default: '`64`',
      meaning: 'tunnels one API connection may hold or be building (BUILD beyond: ONION ERROR)',
    },
    {
      keys: ['max_incoming_tunnels'],
      default: '`1024`',
      meaning: 'tunnels ending here (OPEN beyond is refused: the initiator gets ONION ERROR)',
    },
    {
      keys: ['idle_link_ms'],
      default: '`60000`',
      meaning: 'a link without circuits for this long is closed',
    },
    {
      keys: ['link_queue_bytes'],
      default: '`262144`',
      meaning:
        "cells waiting on one congested link (all circuits); the pushing circuit's oldest is dropped beyond",
    },
    {
      keys: ['circuit_queue_cells'],
      default: '`400`',
      meaning: 'cells a circuit may have waiting on a congested link; the oldest is dropped beyond',
    },
    {
      keys: ['circuit_queue_ms'],
      default: '`250`',
      meaning: 'a cell that waited this long on a congested link is dropped (late voice is useless)',
    },
    {
      keys: ['input_queue_ms'],
      default: '`100`',
      meaning: "a RELAY cell or API DATA that waited this long in this busy relay's input queue is dropped",
    },
    {
      keys: ['reassembly_bytes'],
      default: '`33554432`',
      meaning:
        'bytes all circuits together may hold in partly received messages; the oldest partial goes first',
    },
    {
      keys: ['extend_private_addresses'],
      default: '`true` if `p2p_advertise` is loopback/private',
      meaning:
        'EXTEND to loopback, private, link-local addresses; else refused (a public relay must not connect into its own network)',
    },
    {
      keys: ['link_window_cells'],
      default: '`1024`',
      meaning:
        'flow control: cells sent on a link and not yet credited by the peer (see CREDIT); 256 to 8192',
    },
    {
      keys: ['onion_key_rotation_seconds'],
      default: '`86400`',
      meaning: 'the X25519 onion key is replaced (and re-certified) this often',
    },
    {
      keys: ['status_seconds'],
      default: '`60`',
      meaning:
        "an info log line with the module's counts (links, tunnels, cells, builds) this often; 0: never",
    },
  ],
  dht: [
    { keys: ['api_address'], default: '(required)', meaning: 'API socket, `host:port`' },
    {
      keys: ['p2p_address'],
      default: '(required)',
      meaning: "where the P2P listener for other relays' DHT modules binds",
    },
    {
      keys: ['p2p_advertise'],
      default: '`p2p_address`',
      meaning:
        'the IP (optionally `IP:port`, when a NAT forwards another port) peers are told; required when `p2p_address` binds `0.0.0.0`/`::`. Unspecified is refused, and so is loopback on a listener bound beyond loopback (unless `dial_private_addresses = true`: a test network on one machine). See docs/operating.md; its port goes into link handshakes',
    },
    {
      keys: ['bootstrapper'],
      default: '(none)',
      meaning:
        'DHT P2P address(es) of relays to join through (comma/space separated). The first relay of a network has none.',
    },
    {
      keys: ['k'],
      default: '20',
      meaning: 'bucket size and replication factor; NODES replies carry at most k contacts (1..32)',
    },
    { keys: ['alpha'], default: '3', meaning: 'requests in flight per lookup path' },
    {
      keys: ['disjoint_paths'],
      default: '3',
      meaning: 'S/Kademlia disjoint lookup paths (1 = plain Kademlia)',
    },
    {
      keys: ['max_replication'],
      default: '2·k',
      meaning: 'cap on the PUT replication hint (a PUT is stored at max(hint, k) nodes, at most this many)',
    },
    {
      keys: ['max_ttl'],
      default: '86400',
      meaning:
        'seconds; a PUT\'s TTL hint (0 = "no preference" → max_ttl) and every STORE\'s TTL are cut to this',
    },
    {
      keys: ['store'],
      default: '`dht-store`',
      meaning: 'folder for the on-disk store (`values.bin`), relative to the config file',
    },
    {
      keys: ['pow_bits'],
      default: '16',
      meaning:
        "proof of work demanded of peers' identities (and shown for ours), as the link library does it",
    },
    {
      keys: ['dial_private_addresses'],
      default: '`true` if `p2p_advertise` is loopback/private',
      meaning:
        'use contacts at loopback, private, link-local addresses from NODES replies; else they are ignored',
    },
    { keys: ['request_timeout'], default: '2000', meaning: 'ms to wait for one reply once the link is up' },
    { keys: ['dial_timeout'], default: '5000', meaning: 'ms to connect and complete a link handshake' },
    {
      keys: ['get_timeout'],
      default: '10000',
      meaning: 'ms: a GET is answered (SUCCESS or FAILURE) within this',
    },
    {
      keys: ['quota'],
      default: '1048576',
      meaning: 'bytes (key + value + 128 per entry) one peer may have stored here',
    },
    { keys: ['max_store_bytes'], default: '67108864', meaning: 'bytes over all stored values' },
    { keys: ['max_entries'], default: '100000', meaning: 'keys stored at most' },
    {
      keys: ['republish_interval'],
      default: '3600',
      meaning: 'seconds between republishes of values our API clients PUT (until they expire)',
    },
    {
      keys: ['refresh_interval'],
      default: '600',
      meaning: 'seconds after which a quiet bucket is refreshed by a lookup of a random id inside it',
    },
    {
      keys: ['max_links'],
      default: '128',
      meaning: 'DHT links held open at once (least recently used closed first)',
    },
    {
      keys: ['max_lookups'],
      default: '64',
      meaning: 'lookups running at once (4× more may wait; beyond that GET → FAILURE)',
    },
    {
      keys: ['status_seconds'],
      default: '60',
      meaning: 'an info line with the routing table and store sizes this often; 0: never',
    },
    {
      keys: ['misbehave'],
      default: '`none`',
      meaning: '`liar` makes this relay lie (tests of the defences only; see below)',
    },
    { keys: ['colluders'], default: '(none)', meaning: 'hex identities of fellow liars (tests only)' },
    {
      keys: ['handshake_timeout'],
      default: '3000',
      meaning:
        'ms for an inbound link to complete its handshake (a half-open one holds a listener slot until then)',
    },
    {
      keys: ['ip_quota'],
      default: '2 x `quota`',
      meaning: 'quota bytes (as `quota`) of all peers at one IP address together; loopback exempt',
    },
    {
      keys: ['subnet_quota'],
      default: '4 x `quota`',
      meaning: 'the same for one /24 (IPv4) or /48 (IPv6)',
    },
    {
      keys: ['max_contacts_per_ip'],
      default: '2',
      meaning: 'routing-table contacts at one IP address; loopback exempt',
    },
    {
      keys: ['max_contacts_per_subnet'],
      default: '8',
      meaning: 'routing-table contacts in one /24 (IPv4) or /48 (IPv6)',
    },
  ],
  bridge: [
    {
      keys: ['http_address'],
      default: '`127.0.0.1:7080`',
      meaning:
        "Where the HTTP server (client files + `/ws`) listens. Keep it on loopback: anyone who can reach it and knows the token acts with this relay's hostkey signatures. Port 0 picks a free port.",
    },
    {
      keys: ['token'],
      default: 'random (18 bytes, base64url) per start',
      meaning:
        'Secret required as `?token=` on the WebSocket upgrade; printed in the client URL (`#token=…`, a fragment, so it never reaches server logs or Referer headers). 16–128 characters `A-Z a-z 0-9 _ -`.',
    },
    {
      keys: ['client_dir'],
      default: '`<repo>/dist/client`',
      meaning:
        "Built client (`npm run build:client`). Relative paths are resolved against the config file's folder.",
    },
    {
      keys: ['allowed_origins'],
      default:
        '`http://<http_address>` (+ `http://localhost:<port>` and `http://127.0.0.1:<port>` on loopback)',
      meaning:
        'Comma/space-separated list of `Origin` values accepted on the WebSocket upgrade; the `Host` header must match one of them too (DNS-rebinding defence).',
    },
    { keys: ['max_clients'], default: '`8`', meaning: 'Simultaneous browsers; further upgrades get 503.' },
    {
      keys: ['max_frame_bytes'],
      default: '`65535`',
      meaning:
        'Largest WebSocket frame accepted (one API message is at most 65535 bytes); larger closes the socket with 1009.',
    },
    {
      keys: ['sign_per_second'],
      default: '`10`',
      meaning:
        'Hostkey signatures per second for the whole bridge, all browsers together (token bucket, burst 2×; signed off the event loop). RSA-4096 signing costs CPU; beyond the rate the request is answered with `rate-limited`.',
    },
    {
      keys: ['validate_presence'],
      default: '`true`',
      meaning:
        "The bridge subscribes to presence records at Gossip and validates their public shape and round, so this relay spreads friends' presence even when no browser is open on it.",
    },
    {
      keys: ['allow_insecure_remote'],
      default: '`false`',
      meaning:
        'Lets a non-loopback `http_address` serve plain http. Only when something else protects it (a TLS reverse proxy, an ssh tunnel); the token and the signalling cross the network in the clear otherwise.',
    },
    {
      keys: ['url_file'],
      default: '(none)',
      meaning:
        'File the client link (with its token) is written to at start, mode 0600, replaced if present: for a relay run as a service, whose stdout is a log.',
    },
  ],
  metrics: [
    {
      keys: ['http_address'],
      default: '(required in the section; no section: no metrics server)',
      meaning:
        'where `/metrics` (Prometheus text format) and `/healthz` are served. Loopback only: the counts tell whoever reads them when this relay carries traffic',
    },
    {
      keys: ['allow_non_loopback'],
      default: '`false`',
      meaning:
        'serve on a non-loopback `http_address` anyway (only behind a firewall that lets nothing but your own monitoring in)',
    },
  ],
};

/** Where each section's table lives besides the README (heading containing "[section]"). */
export const OPTION_DOCS: Record<OptionSection, string> = {
  gossip: 'docs/gossip-protocol.md',
  nse: 'docs/nse-protocol.md',
  rps: 'docs/rps-protocol.md',
  onion: 'docs/onion-protocol.md',
  dht: 'docs/dht-protocol.md',
  bridge: 'docs/bridge-protocol.md',
  metrics: 'docs/operating.md',
};
