import { parseProcStat, type ProcessEntry } from '../src/sampling/processTable';
import { matchByName, parseSystemctlShow, ServiceTracker, descendants } from '../src/sampling/services';
import { parseServiceList } from '../src/sampling/serviceCatalogue';

const proc = (pid: number, ppid: number, comm: string, extra: Partial<ProcessEntry> = {}): ProcessEntry => ({
  pid,
  ppid,
  comm,
  state: 'S',
  cpuTicks: 0,
  startTicks: pid,
  rssBytes: 4096,
  ...extra,
});

describe('parseProcStat', () => {
  test('comm with spaces and parentheses', () => {
    const line = '4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 12345 1000000 250 18446744073709551615';
    expect(parseProcStat(line, 4096)).toEqual({
      pid: 4242,
      ppid: 1,
      comm: 'my (odd) proc',
      state: 'S',
      cpuTicks: 200,
      startTicks: 12345,
      rssBytes: 250 * 4096,
    });
  });
  test('garbage gives null', () => {
    expect(parseProcStat('not a stat line')).toBeNull();
  });
});

describe('parseSystemctlShow', () => {
  test('several units, including one that is not found', () => {
    const text = [
      'Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=812',
      'Id=ssh.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0',
      'Id=openvpn.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0',
    ].join('\n\n');
    const units = parseSystemctlShow(text);
    expect(units.get('nginx.service')).toEqual({ id: 'nginx.service', loadState: 'loaded', activeState: 'active', subState: 'running', mainPid: 812 });
    expect(units.get('ssh.service')?.activeState).toBe('failed');
    expect(units.get('openvpn.service')?.loadState).toBe('not-found');
  });
});

describe('matchByName', () => {
  test('main PID is the oldest root of the matching tree, not a worker', () => {
    const table = new Map(
      [proc(1, 0, 'init'), proc(100, 1, 'postgres', { startTicks: 50 }), proc(101, 100, 'postgres'), proc(102, 100, 'postgres'), proc(300, 1, 'bash')].map((p) => [p.pid, p]),
    );
    const m = matchByName(table, ['postgres']);
    expect(m.main?.pid).toBe(100);
    expect(m.pids.sort()).toEqual([100, 101, 102]);
  });
  test('no match', () => {
    expect(matchByName(new Map([[1, proc(1, 0, 'init')]]), ['nginx'])).toEqual({ pids: [], main: null });
  });
  test('descendants walks the whole tree', () => {
    const table = new Map([proc(1, 0, 'a'), proc(2, 1, 'b'), proc(3, 2, 'c'), proc(4, 1, 'd'), proc(5, 0, 'e')].map((p) => [p.pid, p]));
    expect(descendants(table, 1).sort()).toEqual([1, 2, 3, 4]);
  });
});

describe('ServiceTracker', () => {
  const defs = [{ name: 'nginx', processNames: ['nginx'], units: ['nginx.service'] }];
  test('CPU % over the interval, summed over the tree; a zombie main process is an error', () => {
    const tracker = new ServiceTracker(defs, 99999);
    const t1 = new Map([proc(10, 1, 'nginx', { cpuTicks: 1000 }), proc(11, 10, 'nginx', { cpuTicks: 500 })].map((p) => [p.pid, p]));
    const first = tracker.evaluate(t1, 1000, null)[0]!;
    expect(first).toMatchObject({ status: 'running', pid: 10, process_count: 2, cpu_percent: null, memory_bytes: 8192, source: 'proc' });
    // 10 s later: +100 ticks and +50 ticks at 100 ticks/s = 1.5 s CPU in 10 s = 15 %.
    const t2 = new Map([proc(10, 1, 'nginx', { cpuTicks: 1100 }), proc(11, 10, 'nginx', { cpuTicks: 550 })].map((p) => [p.pid, p]));
    expect(tracker.evaluate(t2, 1010, null)[0]!.cpu_percent).toBeCloseTo(15, 5);
    const t3 = new Map([proc(10, 1, 'nginx', { cpuTicks: 1100, state: 'Z' })].map((p) => [p.pid, p]));
    expect(tracker.evaluate(t3, 1020, null)[0]).toMatchObject({ status: 'error', pid: 10 });
  });
  test('systemd state wins where the unit is loaded', () => {
    const tracker = new ServiceTracker(defs, 99999);
    const table = new Map([proc(812, 1, 'nginx')].map((p) => [p.pid, p]));
    const units = parseSystemctlShow('Id=nginx.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0');
    expect(tracker.evaluate(table, 1, units)[0]).toMatchObject({ status: 'error', pid: null, source: 'systemd' });
    const active = parseSystemctlShow('Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nMainPID=812');
    expect(tracker.evaluate(table, 2, active)[0]).toMatchObject({ status: 'running', pid: 812, source: 'systemd', detail: 'nginx.service: active/running' });
  });
});

describe('parseServiceList', () => {
  test('known names and custom name=process entries', () => {
    const list = parseServiceList('nginx, redis,myapp=myapp-bin|myapp-worker');
    expect(list.map((s) => s.name)).toEqual(['nginx', 'redis', 'myapp']);
    expect(list[2]).toEqual({ name: 'myapp', processNames: ['myapp-bin', 'myapp-worker'], units: ['myapp.service'] });
  });
  test.each([
    ['frobnicator', /unknown service "frobnicator"/],
    ['nginx,nginx', /listed twice/],
    ['bad name=x', /not a valid service name/],
    ['x=has space', /not a process name/],
    ['x=waytoolongprocessname', /not a process name/],
  ])('%s is rejected', (raw, message) => {
    expect(() => parseServiceList(raw)).toThrow(message);
  });
});

describe('/proc parsers', () => {
  const { parseProcStatCpu, parseProcNetDev } = require('../src/sampling/host') as typeof import('../src/sampling/host');
  test('cpu line of /proc/stat: busy excludes idle and iowait', () => {
    expect(parseProcStatCpu('cpu  100 5 50 800 40 1 4 0 0 0\ncpu0 1 2 3 4\n')).toEqual({ busy: 160, total: 1000 });
    expect(parseProcStatCpu('intr 1 2 3\n')).toBeNull();
  });
  test('/proc/net/dev', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:   39711     420    0    0    0     0          0         0    39711     420    0    0    0     0       0          0',
      '  eth0: 233197387  165432    3    0    0     0          0         0   989111    9876    7    0    0     0       0          0',
      '',
    ].join('\n');
    expect(parseProcNetDev(text)).toEqual([
      { name: 'lo', bytes_received: 39711, errors_received: 0, bytes_sent: 39711, errors_sent: 0 },
      { name: 'eth0', bytes_received: 233197387, errors_received: 3, bytes_sent: 989111, errors_sent: 7 },
    ]);
  });
});
