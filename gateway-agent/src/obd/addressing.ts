// How the adapter must be set up to reach one ECU (ELM327 datasheet "Setting the Headers", "CAN
// Extended Addressing", "Altering Flow Control Messages"): the CAN id width (protocol), the request id
// (ATCP + ATSH), the reply filter (ATCRA), ISO 15765-2 extended addressing (ATCEA, and ATCER or ATTA for
// the byte replies carry), the flow control frame (ATFCSH/ATFCSD/ATFCSM1) and the reply timeout (ATST).
// OBDb commands name these with hdr, pri, rax, eax, tst, fcm1 and tmo.
import type { ObdCommand } from '@clutch/firmware-profiles';

/** An OBDb command with its addressing fields (hdr, pri, rax, eax, tst, tmo, fcm1). */
export type AddressedCommand = ObdCommand;

/** One complete adapter setup; the empty string means the ELM327's default for that setting. */
export interface Addressing {
  /** ELM327 protocol: '6'/'8' ISO 15765-4 11-bit (500/250 kbaud), '7'/'9' 29-bit. */
  readonly protocol: string;
  /** ATCP: priority bits of a 29-bit id. */
  readonly priority: string;
  /** ATSH: 3 digits (11-bit id) or 6 (the low 24 bits of a 29-bit id). */
  readonly header: string;
  /** ATCRA: the only CAN id whose frames are shown ('' = default filtering). */
  readonly receive: string;
  /** ATCEA hh: extended address inserted before the PCI of every frame sent ('' = off). */
  readonly extended: string;
  /** ATTA: tester address; with ATCEA (and no ATCER) only replies carrying it in their first byte pass. */
  readonly tester: string;
  /**
   * With extended addressing, the byte the ECU's replies carry before their PCI when it is not the tester
   * address: a command with `eax` but no `tst` gets its `eax` back (OBDb records Toyota's gateway ECUs
   * answering with their own sub-address, e.g. the RAV4's `2116@750`: `758 2A 10 07 61 16 ..`).
   * Absent: the tester address.
   */
  readonly replyAddress?: string;
  /**
   * ATCER hh as the adapter was set (ELM327 v2.2): the extended-address byte replies must carry in place
   * of the tester address. Absent: never set (the tester address filters). Set by addressingCommands only.
   */
  readonly extendedReceive?: string;
  /** ATFCSH + ATFCSD then ATFCSM1, as `<id>/<data>` ('' = automatic flow control, ATFCSM0). */
  readonly flowControl: string;
  /** ATST value ('' = the default 32, 200 ms). */
  readonly timeout: string;
}

/** ISO 15765-4 protocols and their twin of the other id width at the same bit rate: [11-bit, 29-bit]. */
const TWINS: Readonly<Record<string, readonly [string, string]>> = {
  '6': ['6', '7'],
  '7': ['6', '7'],
  '8': ['8', '9'],
  '9': ['8', '9'],
};

const DEFAULT_PRIORITY = '18';
const DEFAULT_TESTER = 'F1';
/** ISO 15765-2 flow control: clear to send, no block limit, no separation time. */
const FLOW_CONTROL_DATA = '300000';
const HEX = /^[0-9A-F]+$/;

/** The protocol number of an ATDPN answer ('A6' -> '6'). */
export function protocolNumber(dpn: string | undefined): string {
  return (dpn ?? '').trim().toUpperCase().replace(/^A/, '');
}

export function is29Bit(protocol: string): boolean {
  return protocol === '7' || protocol === '9';
}

/** The setup after initialisation on this bus: functional OBD requests (7DF, or 18DB33F1 on 29-bit). */
export function busDefault(protocol: string): Addressing {
  return {
    protocol,
    priority: DEFAULT_PRIORITY,
    header: is29Bit(protocol) ? 'DB33F1' : '7DF',
    receive: '',
    extended: '',
    tester: DEFAULT_TESTER,
    flowControl: '',
    timeout: '',
  };
}

export type CommandAddressing =
  | { readonly ok: true; readonly addressing: Addressing; readonly requestId: string }
  | { readonly ok: false; readonly reason: string };

const hex = (value: string | undefined): string => (value ?? '').trim().toUpperCase();

/**
 * The setup that reaches a command's ECU from a bus running `busProtocol` (ATDPN). A 29-bit header on
 * an 11-bit bus (or the reverse) uses the twin protocol: the ECUs share the wires and the bit rate,
 * only the id width differs. OBDb receive addresses for 29-bit headers: 2 digits = the ISO 15765-4
 * physical reply `<pri> DA <tester> <rax>`, 6 digits = the low 24 bits under the command's priority,
 * 8 digits = the whole id; with none, a `DAxx` header's reply is `<pri> DA <tester> xx`.
 */
export function commandAddressing(command: AddressedCommand, busProtocol: string): CommandAddressing {
  const twins = TWINS[busProtocol];
  if (!twins) return { ok: false, reason: `bus protocol ${busProtocol || '?'} is not ISO 15765-4 CAN` };
  const hdr = hex(command.hdr);
  if (hdr === '') return { ok: false, reason: 'no request header' };
  const fields = { hdr, rax: hex(command.rax), pri: hex(command.pri), tst: hex(command.tst), eax: hex(command.eax) };
  const bad = Object.entries(fields).find(([, v]) => v !== '' && !HEX.test(v));
  if (bad) return { ok: false, reason: `${bad[0]} ${bad[1]} is not hexadecimal` };
  const tester = fields.tst || DEFAULT_TESTER;
  const common = {
    extended: fields.eax,
    tester,
    ...(fields.eax !== '' && fields.tst === '' && fields.eax !== tester ? { replyAddress: fields.eax } : {}),
    timeout: hex(command.tmo),
  };
  if (hdr.length === 3) {
    if (fields.rax !== '' && fields.rax.length !== 3)
      return { ok: false, reason: `rax ${fields.rax} is not an 11-bit id` };
    return {
      ok: true,
      requestId: hdr,
      addressing: {
        ...common,
        protocol: twins[0],
        priority: DEFAULT_PRIORITY,
        header: hdr,
        receive: fields.rax,
        flowControl: command.fcm1 ? `${hdr}/${FLOW_CONTROL_DATA}` : '',
      },
    };
  }
  if (hdr.length === 4) {
    const priority = fields.pri || DEFAULT_PRIORITY;
    if (priority.length !== 2 || parseInt(priority, 16) > 0x1f)
      return { ok: false, reason: `priority ${priority} does not fit the 5 priority bits` };
    const header = `${hdr}${tester}`;
    const requestId = `${priority}${header}`;
    let receive = '';
    if (fields.rax.length === 2) receive = `${priority}DA${tester}${fields.rax}`;
    else if (fields.rax.length === 6) receive = `${priority}${fields.rax}`;
    else if (fields.rax.length === 8) receive = fields.rax;
    else if (fields.rax !== '') return { ok: false, reason: `rax ${fields.rax} is not a 29-bit receive address` };
    else if (hdr.startsWith('DA')) receive = `${priority}DA${tester}${hdr.slice(2)}`;
    return {
      ok: true,
      requestId,
      addressing: {
        ...common,
        protocol: twins[1],
        priority,
        header,
        receive,
        flowControl: command.fcm1 ? `${requestId}/${FLOW_CONTROL_DATA}` : '',
      },
    };
  }
  return { ok: false, reason: `header ${hdr} is neither an 11-bit nor a 29-bit CAN id` };
}

/** A stable key of a setup: requests with equal keys need no AT command between them. */
export function addressingKey(a: Addressing): string {
  return [
    a.protocol,
    a.priority,
    a.header,
    a.receive,
    a.extended,
    a.tester,
    a.replyAddress ?? '',
    a.flowControl,
    a.timeout,
  ].join('|');
}

/** What the adapter is known to accept, beyond the ELM327 v1.4 command set. */
export interface AdapterSupport {
  /** ATCER hh (set the CAN extended receive address, ELM327 v2.2). */
  readonly extendedReceive?: boolean;
}

/**
 * Whether an ELM327 identifying itself with `banner` (ATZ/ATI: 'ELM327 v2.2') has ATCER: v2.2 and later.
 * Clones often claim a version they do not implement; the caller still treats a '?' as missing.
 */
export function supportsExtendedReceive(banner: string | undefined): boolean {
  const m = /ELM327\s+v(\d+)\.(\d+)/i.exec(banner ?? '');
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 2 || (major === 2 && minor >= 2);
}

/**
 * The tester and ATCER values that let `to`'s replies through (ELM327 DS "CAN Extended Addressing": with
 * ATCEA on, only replies whose first data byte is the tester address pass; ATCER hh names another byte).
 * With ATCER: it is set whenever the reply byte is not the tester address, and kept while extended
 * addressing is off (it filters nothing then). Without it, on 11-bit ids the tester address itself becomes
 * the reply byte: there ATTA only feeds that filter (11-bit headers and the default 7E8-7EF filter carry
 * no tester address). On 29-bit ids ATTA also shapes the default header and filter, so it is left alone
 * and such replies need ATCER.
 */
function replyFilter(
  from: Addressing | undefined,
  to: Addressing,
  support: AdapterSupport,
): { tester: string; extendedReceive: string | undefined } {
  const kept = from?.extendedReceive;
  const reply = to.replyAddress ?? to.tester;
  if (to.extended === '') return { tester: to.tester, extendedReceive: kept };
  if (support.extendedReceive) {
    return { tester: to.tester, extendedReceive: (kept ?? to.tester) === reply ? kept : reply };
  }
  if (!is29Bit(to.protocol)) return { tester: reply, extendedReceive: kept };
  return { tester: to.tester, extendedReceive: kept };
}

/**
 * The AT commands that take the adapter from `from` (undefined = unknown: everything is sent) to `to`,
 * in an order the ELM327 accepts (protocol first; ATFCSM1 only after its header and data), and the
 * state afterwards. The priority bits matter only on a 29-bit protocol and are left alone on 11-bit.
 * `support` says whether the reply byte of extended addressing is set with ATCER or with ATTA.
 */
export function addressingCommands(
  from: Addressing | undefined,
  to: Addressing,
  support: AdapterSupport = {},
): { commands: string[]; state: Addressing } {
  // The adapter's ATCER is what replyFilter says, never the target's.
  const { extendedReceive: _target, ...rest } = to;
  const filter = replyFilter(from, to, support);
  const state: Addressing = {
    ...rest,
    ...(!is29Bit(to.protocol) && from !== undefined ? { priority: from.priority } : {}),
    tester: filter.tester,
    ...(filter.extendedReceive !== undefined ? { extendedReceive: filter.extendedReceive } : {}),
  };
  const changed = <K extends keyof Addressing>(k: K) => from === undefined || from[k] !== state[k];
  const commands: string[] = [];
  // ELM327 DS "TP": like SP but without the EEPROM write SP makes every time.
  if (changed('protocol')) commands.push(`ATTP${state.protocol}`);
  if (is29Bit(state.protocol) && changed('priority')) commands.push(`ATCP${state.priority}`);
  if (changed('header')) commands.push(`ATSH${state.header}`);
  if (changed('receive')) commands.push(state.receive ? `ATCRA${state.receive}` : 'ATCRA');
  if (changed('extended')) commands.push(state.extended ? `ATCEA${state.extended}` : 'ATCEA');
  if (changed('tester')) commands.push(`ATTA${state.tester}`);
  // No command clears ATCER short of ATD/ATZ; while it was never set the tester address filters.
  if (changed('extendedReceive') && state.extendedReceive) commands.push(`ATCER${state.extendedReceive}`);
  if (changed('flowControl')) {
    if (state.flowControl) {
      const [id, data] = state.flowControl.split('/');
      commands.push(`ATFCSH${id}`, `ATFCSD${data}`, 'ATFCSM1');
    } else commands.push('ATFCSM0');
  }
  if (changed('timeout')) commands.push(`ATST${state.timeout || '32'}`);
  return { commands, state };
}
