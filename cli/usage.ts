import { backupUsage } from './backup.js';
import { demoUsage } from './demo-command.js';
import { backfillUsage } from './sim-backfill.js';
import { simUsage } from './sim.js';
import { tokenUsage } from './token.js';

/** The text of `anju --help` and of each role's `--help`: what runs, and where its settings come from. */

const settings = 'Configuration is read from ANJU_* environment variables (see the configuration table in README.md).';

export const roleUsage: Record<'all' | 'broker' | 'hub', string> = {
  all: `Usage: anju all

Runs everything in one process: the MQTT broker (ANJU_MQTT_PORT, ANJU_WS_PORT), ingest, alerts,
the REST API, API docs and control room (ANJU_HTTP_PORT), on the store chosen by ANJU_STORE
(embedded DuckDB in ANJU_DATA_DIR by default), plus the demo community's simulated devices
unless ANJU_SIM=0. On the first start an admin API token is generated and printed once.

${settings}`,
  broker: `Usage: anju broker

Runs the MQTT broker only (ANJU_MQTT_PORT, ANJU_WS_PORT): devices authenticate against the
registry in ANJU_DATA_DIR; a hub ingests through its service account (ANJU_INGEST_PASSWORD).

${settings}`,
  hub: `Usage: anju hub

Runs ingest, alerts and the API without a broker: ingest subscribes to the broker at
ANJU_MQTT_URL (required) as ANJU_INGEST_USER / ANJU_INGEST_PASSWORD.

${settings}`,
};

export const mainUsage = `anju — smart-property telemetry

Usage:
  anju all            broker + ingest + alerts + API + web UI (+ demo fleet unless ANJU_SIM=0)
  anju broker         the MQTT broker only
  anju hub            ingest + API, consuming from ANJU_MQTT_URL
${simUsage}
${backfillUsage}
${tokenUsage}
${demoUsage}
${backupUsage}
  anju --version      print the version
  anju <command> --help   help on one command (nothing is started)

${settings}`;

export const simCommandUsage = `Usage:\n${simUsage}\n\n${settings}`;
export const backfillCommandUsage = `Usage:\n${backfillUsage}\n\n${settings}`;
export const tokenCommandUsage = `Usage:\n${tokenUsage}\n\n${settings}`;
export const demoCommandUsage = `Usage:\n${demoUsage}\n\n${settings}`;
export const backupCommandUsage = `Usage:\n${backupUsage}\n\n${settings}`;
