import type { Building, Device, DeviceInput, DevicePatch, KindName, Page, PageQuery, Role, Site, SitePatch } from '../../core/index.js';
import { CodedError } from '../../core/errors.js';

/**
 * The state store: registry (sites, buildings, devices), device secret hashes and API tokens.
 * Kept in the same embedded database file as telemetry by default.
 */

// Roles and pages are core's vocabulary (the web UI speaks them too); re-exported because this contract does.
export { roles, type Page, type PageQuery, type Role } from '../../core/index.js';

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
}

export interface DeviceFilter extends PageQuery {
  readonly site?: string;
  /** Only devices of these sites (a caller's site scope, applied before paging); an empty list matches none. */
  readonly sites?: readonly string[];
  readonly building?: string;
  readonly kind?: KindName;
}

export interface StateStore {
  upsertSite(site: Site): Promise<void>;
  /** Changes some of a site's attributes; undefined when there is no such site. */
  updateSite(id: string, patch: SitePatch): Promise<Site | undefined>;
  getSite(id: string): Promise<Site | undefined>;
  /** Sites by id; with `ids`, only those (a caller's site scope, applied before paging; an empty list matches none). */
  listSites(page: PageQuery & { readonly ids?: readonly string[] }): Promise<Page<Site>>;
  upsertBuilding(building: Building): Promise<void>;
  listBuildings(site: string, page: PageQuery): Promise<Page<Building>>;

  /** Rejects with DuplicateError if the id exists. */
  createDevice(input: DeviceInput, secretHash: string, createdAt: number): Promise<Device>;
  getDevice(id: string): Promise<Device | undefined>;
  /** Every device, for the in-memory directory. */
  allDevices(): Promise<Device[]>;
  listDevices(filter: DeviceFilter): Promise<Page<Device>>;
  updateDevice(id: string, patch: DevicePatch): Promise<Device | undefined>;
  deleteDevice(id: string): Promise<boolean>;
  getDeviceSecretHash(id: string): Promise<string | undefined>;
  setDeviceSecretHash(id: string, secretHash: string): Promise<void>;

  createToken(token: ApiToken, tokenHash: string): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<ApiToken | undefined>;
  listTokens(): Promise<ApiToken[]>;
  deleteToken(id: string): Promise<boolean>;

  close(): Promise<void>;
}

/** An id already taken (a device, a service account, a token name): the API answers 409 `conflict`. */
export class DuplicateError extends CodedError {
  override name = 'DuplicateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', 'conflict', message, options);
  }
}

/**
 * The registry as the running platform uses it: reads are synchronous from memory (ingest enriches
 * every message with them), writes go through to the StateStore first, then memory.
 */
export interface DeviceDirectory {
  /** Loads every device from the state store. */
  load(): Promise<void>;
  get(id: string): Device | undefined;
  list(): Device[];
  /** Provisions a device with a new random secret; the plaintext secret is returned this once. */
  create(input: DeviceInput): Promise<{ device: Device; secret: string }>;
  update(id: string, patch: DevicePatch): Promise<Device | undefined>;
  delete(id: string): Promise<boolean>;
  /** Replaces a device's secret with a new random one, returned this once. */
  rotateSecret(id: string): Promise<string | undefined>;
  /**
   * Re-reads one device from the state store after another node changed it (cluster mode): added,
   * updated or removed here to match; with `secretChanged`, its cached verifications are forgotten.
   */
  refresh(id: string, secretChanged: boolean): Promise<void>;
  /** scrypt-verifies a device secret (successful verifications are cached briefly to absorb reconnect storms). */
  verify(id: string, secret: string): Promise<boolean>;
}
