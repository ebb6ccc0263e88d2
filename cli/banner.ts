import type { AnjuConfig } from '../core/config.js';
import type { RunningPlatform } from './platform.js';

/**
 * What `anju all|broker|hub` prints once it runs, on stdout after the start-up logs: where
 * everything is, warnings that need the operator, and — once, on the first start — the generated
 * admin token, last so that it is the line on screen when start-up ends.
 */
export function banner(platform: RunningPlatform, config: AnjuConfig, version: string): string {
  const { urls } = platform;
  const lines = [`Anju ${version} is running (role: ${platform.role}, store: ${config.store}, data: ${config.dataDir})`];
  // Plaintext HTTP may be switched off (ANJU_PLAINTEXT=0): then the web is HTTPS only.
  const web = urls.http ?? urls.https;
  if (web) {
    lines.push(
      `  control room   ${web}/  (log in with an API token)`,
      `  API            ${web}`,
      `  API docs       ${urls.docs}`,
      `  health         ${web}/health`,
    );
  }
  if (urls.http && urls.https) lines.push(`  HTTPS          ${urls.https}`);
  if (urls.mqtt) lines.push(`  MQTT           ${urls.mqtt}`, `  MQTT/WebSocket ${urls.ws}`);
  if (urls.mqtts) lines.push(`  MQTT/TLS       ${urls.mqtts}`, `  MQTT/WSS       ${urls.wss}`);
  for (const w of platform.warnings) lines.push(`  ! ${w.split('\n').join('\n    ')}`);
  if (platform.generatedAdminToken) {
    lines.push(
      '',
      '  A bootstrap admin API token was generated. It is shown this once (only its digest is kept in the',
      '  data directory); store it now, and log in to the control room with it:',
      `  ANJU_ADMIN_TOKEN=${platform.generatedAdminToken}`,
      '  Lost it? Stop Anju and run `anju token` to mint a new admin token.',
    );
  } else if (web && !config.adminToken) {
    lines.push('  Admin token: the one printed on the first start (lost it? stop Anju and run `anju token`).');
  }
  return lines.join('\n');
}
