import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const launch = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'launch.json'), 'utf8')) as { nodeArgs: string[]; env: Record<string, string> };

// launch.json is the one place the agent's node flags live; the deploy files
// cannot read it, so they must carry the same values.
describe('launch.json and the deploy files agree', () => {
  test('systemd unit', () => {
    const unit = fs.readFileSync(path.join(root, 'deploy', 'systemd', 'viworks-agent.service'), 'utf8');
    expect(unit).toContain(`ExecStart=/usr/bin/node ${launch.nodeArgs.join(' ')} `);
    for (const [k, v] of Object.entries(launch.env)) expect(unit).toContain(`Environment=${k}=${v}`);
  });

  test('docker-compose.yml', () => {
    const compose = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(`command: ${JSON.stringify(['node', ...launch.nodeArgs, 'packages/agent/dist/main.js']).replace(/,/g, ', ')}`);
    for (const [k, v] of Object.entries(launch.env)) expect(compose).toContain(`${k}: "${v}"`);
  });
});
