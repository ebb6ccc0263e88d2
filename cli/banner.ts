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
  if (urls.http) {
    lines.push(
      `  control room   ${urls.http}/  (log in with an API token)`,
      `  API            ${urls.http}`,
      `  API docs       ${urls.docs}`,
      `  health         ${urls.http}/health`,
    );
  }
  if (urls.mqtt) lines.push(`  MQTT           ${urls.mqtt}`, `  MQTT/WebSocket ${urls.ws}`);
  for (const w of platform.warnings) lines.push(`  ! ${w.split('\n').join('\n    ')}`);
  if (platform.generatedAdminToken) {
    lines.push(
      '',
      '  A bootstrap admin API token was generated. It is shown this once (only its digest is kept in the',
      '  data directory); store it now, and log in to the control room with it:',
      `  ANJU_ADMIN_TOKEN=${platform.generatedAdminToken}`,
      '  Lost it? Stop Anju and run `anju token` to mint a new admin token.',
    );
  } else if (urls.http && !config.adminToken) {
    lines.push('  Admin token: the one printed on the first start (lost it? stop Anju and run `anju token`).');
  }
  return lines.join('\n');
}
