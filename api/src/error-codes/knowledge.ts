// What a trouble code means for the owner and the shop: how urgent it is, what usually causes it,
// what to have done, and which services of the catalogue (api/src/partners/service-catalogue.ts)
// do that work. Pure data and one lookup; no I/O.
//
// Sources, per rule (each entry's `source` names its own):
// - `SAE J2012`: the code structure of SAE J2012 / ISO 15031-6: the first character is the system
//   (P powertrain, C chassis, B body, U network), the second says who defines the code (0 and most of
//   2 and 3: ISO/SAE, generic; 1 and some of 2 and 3: the manufacturer), and for generic P0 codes
//   the third character is the subsystem (P00-P02 fuel and air metering, the last injector circuits;
//   P03 ignition and misfire; P04 auxiliary emission controls; P05 vehicle speed, idle control and
//   auxiliary inputs; P06 computer and auxiliary outputs; P07-P09 transmission; P0A-P0C hybrid
//   propulsion). A family rule says only what the family allows one to say.
// - `SAE J2012 description`: a specific entry for a well-known generic code whose family is too
//   coarse (an oil pressure code is not "speed and idle control"). Its causes and repair are the
//   common workshop reading of the code's J2012 description and of SAE J1979's behaviour (e.g. a
//   misfire that damages the catalyst is what makes the MIL flash), not a licensed repair database:
//   they say where a technician starts, never what is certainly broken.
// Severity is ours, one scale for every rule: `critical` (stop driving soon: engine damage or safety),
// `high` (have it seen within days), `medium` (book a visit), `low` (no harm expected; fix at the next
// service). The knowledge is English text with a stable id per cause and repair, for pages to localise.
import type { ServiceCode } from '../partners/service-catalogue.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low';

export interface Knowledge {
  severity: Severity;
  /** What the family (or code) covers, in plain words. */
  area: string;
  causes: readonly string[];
  repair: string;
  /** Services of the catalogue that do the work, the first the one to book. */
  services: readonly ServiceCode[];
  source: string;
}

export interface Interpretation {
  code: string;
  /** Whether any rule matched: false for an unknown or reserved code (an honest "we don't know"). */
  known: boolean;
  /** `code`: a specific entry; `family`: the code's J2012 family; `unknown`: nothing. */
  matchedBy: 'code' | 'family' | 'unknown';
  system: 'powertrain' | 'chassis' | 'body' | 'network';
  /** ISO/SAE generic, or defined by the vehicle's manufacturer (meaning varies by make). */
  definedBy: 'generic' | 'manufacturer' | 'reserved';
  severity: Severity | 'unknown';
  area: string | null;
  causes: readonly string[];
  repair: string | null;
  services: readonly ServiceCode[];
  source: string | null;
}

/** SAE J2012 format: a system letter, then four hexadecimal characters, the first of them 0-3. */
export const DTC_FORMAT = /^[PCBU][0-3][0-9A-F]{3}$/;

const J2012 = 'SAE J2012 code structure';
const SPECIFIC = 'SAE J2012 description, common workshop reading';

const k = (
  severity: Severity,
  area: string,
  services: readonly ServiceCode[],
  causes: readonly string[],
  repair: string,
  source = SPECIFIC,
): Knowledge => ({ severity, area, causes, repair, services, source });

const misfire = (cylinder: string): Knowledge =>
  k(
    'high',
    `Ignition: misfire ${cylinder}`,
    ['ignition', 'diagnostics'],
    [
      'Worn or fouled spark plug',
      'Failing ignition coil or plug lead',
      'Leaking or clogged fuel injector',
      'Low compression (valves, head gasket)',
    ],
    'Inspect spark plugs and coils of the cylinder, swap the coil to see whether the misfire follows; test the injector and compression. Avoid hard driving: a continuing misfire damages the catalytic converter.',
  );

/** P0300 random misfire, P0301-P0312 the misfire of one cylinder. */
const MISFIRES: Readonly<Record<string, Knowledge>> = {
  P0300: {
    ...misfire('in random or several cylinders'),
    causes: ['Vacuum leak', 'Low fuel pressure', 'Worn spark plugs or coils', 'Faulty MAF sensor'],
  },
  ...Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`P03${String(i + 1).padStart(2, '0')}`, misfire(`in cylinder ${i + 1}`)]),
  ),
};

/** Specific entries: well-known generic codes where the family rule would say too little or the wrong thing. */
const CODES: Readonly<Record<string, Knowledge>> = {
  ...MISFIRES,
  P0101: k(
    'medium',
    'Fuel and air metering: mass air flow sensor range',
    ['diagnostics', 'general_repair'],
    ['Dirty or failing MAF sensor', 'Air leak after the sensor', 'Clogged air filter'],
    'Check intake for leaks and the air filter, clean or replace the MAF sensor.',
  ),
  P0113: k(
    'low',
    'Fuel and air metering: intake air temperature sensor high',
    ['diagnostics', 'electrical'],
    ['Open IAT sensor circuit or connector', 'Failed IAT sensor'],
    'Test the sensor and its wiring; replace the sensor.',
  ),
  P0117: k(
    'medium',
    'Cooling: engine coolant temperature sensor low',
    ['cooling', 'electrical'],
    ['Shorted coolant temperature sensor or wiring'],
    'Test the coolant temperature sensor and its circuit; replace the sensor.',
  ),
  P0118: k(
    'medium',
    'Cooling: engine coolant temperature sensor high',
    ['cooling', 'electrical'],
    ['Open coolant temperature sensor circuit', 'Failed sensor'],
    'Test the coolant temperature sensor and its circuit; replace the sensor.',
  ),
  P0128: k(
    'low',
    'Cooling: coolant below thermostat regulating temperature',
    ['cooling'],
    ['Thermostat stuck open', 'Faulty coolant temperature sensor', 'Low coolant level'],
    'Check the coolant level, replace the thermostat if the engine warms up slowly.',
  ),
  P0171: k(
    'medium',
    'Fuel and air metering: system too lean (bank 1)',
    ['diagnostics', 'general_repair'],
    [
      'Vacuum or intake air leak',
      'Dirty MAF sensor',
      'Weak fuel pump or clogged fuel filter',
      'Leaking exhaust before the oxygen sensor',
    ],
    'Smoke-test the intake for leaks, check MAF readings and fuel pressure.',
  ),
  P0172: k(
    'medium',
    'Fuel and air metering: system too rich (bank 1)',
    ['diagnostics', 'general_repair'],
    ['Leaking injector', 'Excess fuel pressure', 'Faulty MAF or coolant temperature sensor'],
    'Check fuel pressure and injectors, the MAF and coolant temperature readings.',
  ),
  P0174: k(
    'medium',
    'Fuel and air metering: system too lean (bank 2)',
    ['diagnostics', 'general_repair'],
    ['Vacuum or intake air leak', 'Dirty MAF sensor', 'Weak fuel pump or clogged fuel filter'],
    'Smoke-test the intake for leaks, check MAF readings and fuel pressure.',
  ),
  P0175: k(
    'medium',
    'Fuel and air metering: system too rich (bank 2)',
    ['diagnostics', 'general_repair'],
    ['Leaking injector', 'Excess fuel pressure', 'Faulty MAF sensor'],
    'Check fuel pressure and injectors and the MAF readings.',
  ),
  P0217: k(
    'critical',
    'Cooling: engine over temperature',
    ['cooling', 'diagnostics'],
    [
      'Low coolant or a leak',
      'Failed water pump or thermostat stuck closed',
      'Cooling fan not running',
      'Blocked radiator',
    ],
    'Stop the engine and let it cool; have the cooling system pressure-tested before driving on. Driving hot can warp the cylinder head.',
  ),
  P0219: k(
    'high',
    'Engine over-speed condition',
    ['diagnostics', 'transmission'],
    ['Engine revved past its limit (wrong gear selected)', 'Transmission slipping'],
    'Check the transmission and the engine for over-rev damage.',
  ),
  P0325: k(
    'medium',
    'Ignition: knock sensor circuit (bank 1)',
    ['ignition', 'electrical'],
    ['Failed knock sensor', 'Damaged wiring or connector'],
    'Test the knock sensor and its wiring; replace the sensor.',
  ),
  P0335: k(
    'high',
    'Ignition: crankshaft position sensor circuit',
    ['ignition', 'electrical'],
    ['Failed crankshaft position sensor', 'Damaged wiring', 'Damaged reluctor ring'],
    'Test and replace the crankshaft position sensor: the engine may stall or not restart.',
  ),
  P0340: k(
    'high',
    'Ignition: camshaft position sensor circuit',
    ['ignition', 'electrical'],
    ['Failed camshaft position sensor', 'Damaged wiring', 'Timing chain or belt stretched'],
    'Test the camshaft position sensor and wiring; check the timing.',
  ),
  P0401: k(
    'medium',
    'Emissions: exhaust gas recirculation flow insufficient',
    ['exhaust'],
    ['Carbon-clogged EGR valve or passages', 'Failed EGR valve'],
    'Clean or replace the EGR valve and passages.',
  ),
  P0420: k(
    'medium',
    'Emissions: catalyst efficiency below threshold (bank 1)',
    ['exhaust', 'diagnostics'],
    [
      'Worn catalytic converter',
      'Failing downstream oxygen sensor',
      'Exhaust leak',
      'Earlier misfires that overheated the catalyst',
    ],
    'Check oxygen sensors and exhaust leaks first; replace the catalytic converter if it has failed.',
  ),
  P0430: k(
    'medium',
    'Emissions: catalyst efficiency below threshold (bank 2)',
    ['exhaust', 'diagnostics'],
    ['Worn catalytic converter', 'Failing downstream oxygen sensor', 'Exhaust leak'],
    'Check oxygen sensors and exhaust leaks first; replace the catalytic converter if it has failed.',
  ),
  P0440: k(
    'low',
    'Emissions: evaporative emission system malfunction',
    ['general_repair'],
    ['Loose or damaged fuel cap', 'Leaking EVAP hose', 'Failed purge or vent valve'],
    'Check the fuel cap, then smoke-test the EVAP system.',
  ),
  P0442: k(
    'low',
    'Emissions: evaporative emission system small leak',
    ['general_repair'],
    ['Fuel cap seal worn', 'Cracked EVAP hose', 'Leaking purge valve'],
    'Check the fuel cap, then smoke-test the EVAP system.',
  ),
  P0455: k(
    'low',
    'Emissions: evaporative emission system large leak',
    ['general_repair'],
    ['Fuel cap missing or loose', 'Disconnected EVAP hose', 'Failed vent valve'],
    'Check the fuel cap, then smoke-test the EVAP system.',
  ),
  P0456: k(
    'low',
    'Emissions: evaporative emission system very small leak',
    ['general_repair'],
    ['Fuel cap seal worn', 'Small crack in an EVAP hose'],
    'Check the fuel cap, then smoke-test the EVAP system.',
  ),
  P0500: k(
    'medium',
    'Vehicle speed sensor',
    ['electrical', 'diagnostics'],
    ['Failed vehicle speed sensor', 'Damaged wiring', 'ABS wheel speed signal missing'],
    'Test the speed sensor and its signal path.',
  ),
  P0505: k(
    'medium',
    'Idle air control system',
    ['general_repair', 'diagnostics'],
    ['Dirty throttle body or idle air control valve', 'Vacuum leak'],
    'Clean the throttle body and idle air control valve; check for vacuum leaks.',
  ),
  P0520: k(
    'high',
    'Engine oil pressure sensor circuit',
    ['oil_change', 'electrical'],
    ['Failed oil pressure sensor', 'Damaged wiring', 'Real low oil pressure'],
    'Check the oil level first; test the sensor against a mechanical gauge.',
  ),
  P0521: k(
    'critical',
    'Engine oil pressure sensor range/performance',
    ['oil_change', 'general_repair'],
    ['Low oil level', 'Wrong oil viscosity', 'Worn oil pump', 'Failed sensor'],
    'Stop and check the oil level; confirm the pressure with a mechanical gauge before driving on.',
  ),
  P0522: k(
    'critical',
    'Engine oil pressure low (sensor low voltage)',
    ['oil_change', 'general_repair'],
    ['Low oil level or pressure', 'Shorted sensor circuit'],
    'Stop and check the oil level; confirm the pressure with a mechanical gauge before driving on.',
  ),
  P0524: k(
    'critical',
    'Engine oil pressure too low',
    ['oil_change', 'general_repair'],
    ['Low oil level', 'Worn oil pump', 'Clogged oil pickup', 'Worn engine bearings'],
    'Stop the engine: low oil pressure destroys bearings within minutes. Check the oil level and have the pressure measured.',
  ),
  P0530: k(
    'low',
    'Air conditioning refrigerant pressure sensor circuit',
    ['air_conditioning'],
    ['Failed A/C pressure sensor', 'Low refrigerant', 'Damaged wiring'],
    'Test the A/C pressure sensor and refrigerant charge.',
  ),
  P0562: k(
    'medium',
    'System voltage low',
    ['battery', 'electrical'],
    ['Weak battery', 'Failing alternator', 'Corroded battery terminals'],
    'Test the battery and the charging system.',
  ),
  P0563: k(
    'medium',
    'System voltage high',
    ['battery', 'electrical'],
    ['Faulty voltage regulator in the alternator'],
    'Test the charging system; replace the alternator or regulator.',
  ),
  P0606: k(
    'high',
    'Control module processor fault',
    ['electrical', 'diagnostics'],
    ['Internal engine control module fault', 'Poor module ground or supply voltage'],
    'Check the module supply and grounds, update or replace the control module.',
  ),
  P0700: k(
    'medium',
    'Transmission control system (MIL request)',
    ['transmission', 'diagnostics'],
    ['The transmission control module stored its own code'],
    'Read the transmission module codes with a scan tool; they name the fault.',
  ),
  P0715: k(
    'high',
    'Transmission input/turbine speed sensor circuit',
    ['transmission', 'electrical'],
    ['Failed input speed sensor', 'Damaged wiring'],
    'Test and replace the input speed sensor.',
  ),
  P0730: k(
    'high',
    'Transmission incorrect gear ratio',
    ['transmission'],
    ['Low or burnt transmission fluid', 'Slipping clutches or bands', 'Failed shift solenoid'],
    'Check the transmission fluid level and condition; have the transmission inspected.',
  ),
  P0740: k(
    'medium',
    'Torque converter clutch circuit',
    ['transmission'],
    ['Failed torque converter clutch solenoid', 'Low transmission fluid'],
    'Check the fluid, test the torque converter clutch solenoid.',
  ),
  P0A80: k(
    'high',
    'Hybrid battery pack deterioration',
    ['electrical', 'diagnostics'],
    ['Weak cells in the high-voltage battery pack'],
    'Have the hybrid battery tested by a shop qualified for high-voltage work; replace or recondition the pack.',
  ),
  C0035: k(
    'high',
    'Brakes: left front wheel speed sensor circuit',
    ['brakes', 'electrical'],
    ['Failed wheel speed sensor', 'Damaged wiring', 'Dirty or damaged tone ring'],
    'Test and replace the wheel speed sensor; ABS and stability control may be off until then.',
  ),
  C0040: k(
    'high',
    'Brakes: right front wheel speed sensor circuit',
    ['brakes', 'electrical'],
    ['Failed wheel speed sensor', 'Damaged wiring', 'Dirty or damaged tone ring'],
    'Test and replace the wheel speed sensor; ABS and stability control may be off until then.',
  ),
  C0045: k(
    'high',
    'Brakes: left rear wheel speed sensor circuit',
    ['brakes', 'electrical'],
    ['Failed wheel speed sensor', 'Damaged wiring', 'Dirty or damaged tone ring'],
    'Test and replace the wheel speed sensor; ABS and stability control may be off until then.',
  ),
  C0050: k(
    'high',
    'Brakes: right rear wheel speed sensor circuit',
    ['brakes', 'electrical'],
    ['Failed wheel speed sensor', 'Damaged wiring', 'Dirty or damaged tone ring'],
    'Test and replace the wheel speed sensor; ABS and stability control may be off until then.',
  ),
  U0100: k(
    'high',
    'Network: lost communication with the engine control module',
    ['electrical', 'diagnostics'],
    ['CAN bus wiring or connector fault', 'Engine control module without power', 'Weak battery'],
    'Check the battery, the module supply and the CAN bus wiring.',
  ),
  U0101: k(
    'high',
    'Network: lost communication with the transmission control module',
    ['electrical', 'transmission'],
    ['CAN bus wiring fault', 'Transmission control module without power'],
    'Check the module supply and the CAN bus wiring.',
  ),
  U0121: k(
    'high',
    'Network: lost communication with the ABS control module',
    ['electrical', 'brakes'],
    ['CAN bus wiring fault', 'ABS module without power or failed'],
    'Check the ABS module supply and the CAN bus wiring.',
  ),
};
/** Generic P0 families by the third character (SAE J2012). */
const P0_FAMILIES: Readonly<Record<string, Knowledge>> = {
  '0': k(
    'medium',
    'Fuel and air metering, auxiliary emission controls',
    ['diagnostics', 'general_repair'],
    ['Sensor or actuator of the air intake, fuel or variable valve timing system'],
    'Diagnose with a scan tool and live data.',
    J2012,
  ),
  '1': k(
    'medium',
    'Fuel and air metering',
    ['diagnostics', 'general_repair'],
    ['Air flow, pressure, temperature or oxygen sensor fault', 'Air or fuel delivery problem'],
    'Diagnose the sensor named in the description and its circuit.',
    J2012,
  ),
  '2': k(
    'medium',
    'Fuel and air metering (injector circuit)',
    ['diagnostics', 'general_repair'],
    ['Injector or its circuit', 'Fuel pump or pressure control'],
    'Test the injector or fuel pump circuit named in the description.',
    J2012,
  ),
  '3': k(
    'high',
    'Ignition system or misfire',
    ['ignition', 'diagnostics'],
    ['Spark plug, coil or ignition sensor fault'],
    'Inspect the ignition components named in the description; a misfire can damage the catalytic converter.',
    J2012,
  ),
  '4': k(
    'medium',
    'Auxiliary emission controls',
    ['exhaust', 'diagnostics'],
    ['EGR, secondary air, catalyst or evaporative system fault'],
    'Diagnose the emission system named in the description.',
    J2012,
  ),
  '5': k(
    'medium',
    'Vehicle speed, idle control and auxiliary inputs',
    ['diagnostics', 'electrical'],
    ['Speed sensor, idle control, cruise control or an auxiliary input'],
    'Diagnose the input named in the description.',
    J2012,
  ),
  '6': k(
    'high',
    'Computer and auxiliary outputs',
    ['electrical', 'diagnostics'],
    ['Control module internal fault or an output circuit'],
    'Check module supply and grounds; update or replace the module.',
    J2012,
  ),
  '7': k(
    'high',
    'Transmission',
    ['transmission', 'diagnostics'],
    ['Transmission sensor, solenoid or hydraulic fault'],
    'Check the transmission fluid; diagnose the component named in the description.',
    J2012,
  ),
  '8': k(
    'high',
    'Transmission',
    ['transmission', 'diagnostics'],
    ['Transmission sensor, solenoid or hydraulic fault'],
    'Check the transmission fluid; diagnose the component named in the description.',
    J2012,
  ),
  '9': k(
    'high',
    'Transmission',
    ['transmission', 'diagnostics'],
    ['Transmission sensor, solenoid or hydraulic fault'],
    'Check the transmission fluid; diagnose the component named in the description.',
    J2012,
  ),
  A: k(
    'high',
    'Hybrid propulsion',
    ['electrical', 'diagnostics'],
    ['High-voltage battery, inverter or motor fault'],
    'Have it diagnosed by a shop qualified for high-voltage work.',
    J2012,
  ),
  B: k(
    'high',
    'Hybrid propulsion',
    ['electrical', 'diagnostics'],
    ['High-voltage battery, inverter or motor fault'],
    'Have it diagnosed by a shop qualified for high-voltage work.',
    J2012,
  ),
  C: k(
    'high',
    'Hybrid propulsion',
    ['electrical', 'diagnostics'],
    ['High-voltage battery, inverter or motor fault'],
    'Have it diagnosed by a shop qualified for high-voltage work.',
    J2012,
  ),
};

/** P2 (ISO/SAE controlled, generic): subsystem by the third character (SAE J2012). */
const P2_FAMILIES: Readonly<Record<string, string>> = {
  '0': '0',
  '1': '0',
  '2': '0',
  '3': '3',
  '4': '4',
  '5': '5',
  '6': '6',
  '7': '7',
  '8': '8',
  '9': '0',
  A: '0',
};

const SYSTEMS = { P: 'powertrain', C: 'chassis', B: 'body', U: 'network' } as const;

const manufacturer = (system: Interpretation['system']): Knowledge =>
  k(
    'medium',
    `Manufacturer-specific ${system} code`,
    ['diagnostics'],
    ['Defined by the vehicle maker: the meaning depends on the make'],
    'Have it read with a scan tool that knows the make.',
    `${J2012}: manufacturer-controlled range`,
  );

/** The knowledge for a well-formed code, or null (reserved ranges: nothing honest to say). */
function lookup(
  code: string,
): { knowledge: Knowledge; by: 'code' | 'family'; definedBy: Interpretation['definedBy'] } | null {
  const specific = CODES[code];
  if (specific) return { knowledge: specific, by: 'code', definedBy: 'generic' };
  const system = SYSTEMS[code[0] as keyof typeof SYSTEMS];
  const [owner, sub] = [code[1]!, code[2]!];
  if (code[0] === 'P') {
    if (owner === '0') {
      const family = P0_FAMILIES[sub];
      return family ? { knowledge: family, by: 'family', definedBy: 'generic' } : null;
    }
    if (owner === '2') {
      const family = P0_FAMILIES[P2_FAMILIES[sub] ?? ''];
      return family ? { knowledge: family, by: 'family', definedBy: 'generic' } : null;
    }
    if (owner === '1') return { knowledge: manufacturer(system), by: 'family', definedBy: 'manufacturer' };
    // P3: P30-P33 manufacturer, P34 cylinder deactivation (ISO/SAE), the rest reserved.
    if (['0', '1', '2', '3'].includes(sub))
      return { knowledge: manufacturer(system), by: 'family', definedBy: 'manufacturer' };
    if (sub === '4')
      return {
        knowledge: k(
          'medium',
          'Cylinder deactivation',
          ['diagnostics', 'general_repair'],
          ['Cylinder deactivation solenoid or lifter fault'],
          'Diagnose the deactivation system named in the description.',
          J2012,
        ),
        by: 'family',
        definedBy: 'generic',
      };
    return null;
  }
  if (owner === '1' || owner === '2')
    return { knowledge: manufacturer(system), by: 'family', definedBy: 'manufacturer' };
  if (owner === '3') return null;
  if (code[0] === 'C')
    return {
      knowledge: k(
        'high',
        'Chassis: brakes, steering, suspension (generic)',
        ['brakes', 'suspension', 'diagnostics'],
        ['ABS, stability control, steering or suspension sensor or module fault'],
        'Diagnose the chassis system named in the description; check the brakes before driving far.',
        J2012,
      ),
      by: 'family',
      definedBy: 'generic',
    };
  if (code[0] === 'B')
    return sub === '0'
      ? {
          knowledge: k(
            'high',
            'Body: restraints (airbags, seat belt pretensioners)',
            ['electrical', 'diagnostics'],
            ['Airbag or pretensioner circuit, clock spring or crash sensor fault'],
            'Have the restraint system diagnosed: an airbag may not deploy in a crash.',
            J2012,
          ),
          by: 'family',
          definedBy: 'generic',
        }
      : {
          knowledge: k(
            'low',
            'Body: comfort, lighting, climate and other body electronics',
            ['electrical', 'diagnostics'],
            ['Body module, switch, motor or wiring fault'],
            'Diagnose the body function named in the description.',
            J2012,
          ),
          by: 'family',
          definedBy: 'generic',
        };
  // U0: U00 network electrical, U01-U02 lost communication, U03 software, U04 invalid data.
  return {
    knowledge: k(
      'medium',
      sub === '0'
        ? 'Network: bus electrical fault'
        : sub === '1' || sub === '2'
          ? 'Network: lost communication with a module'
          : 'Network: module software or data',
      ['electrical', 'diagnostics'],
      ['CAN bus wiring or connector fault', 'A module without power', 'Module software mismatch'],
      'Check the battery and the module supplies, then the network wiring.',
      J2012,
    ),
    by: 'family',
    definedBy: 'generic',
  };
}

/** Interprets one code (upper-cased; the caller validated DTC_FORMAT). Never throws for a well-formed code. */
export function interpretCode(code: string): Interpretation {
  const c = code.toUpperCase();
  const system = SYSTEMS[c[0] as keyof typeof SYSTEMS];
  const found = DTC_FORMAT.test(c) ? lookup(c) : null;
  if (!found)
    return {
      code: c,
      known: false,
      matchedBy: 'unknown',
      system,
      definedBy: 'reserved',
      severity: 'unknown',
      area: null,
      causes: [],
      repair: null,
      services: ['diagnostics'],
      source: null,
    };
  const { knowledge, by, definedBy } = found;
  return {
    code: c,
    known: true,
    matchedBy: by,
    system,
    definedBy,
    severity: knowledge.severity,
    area: knowledge.area,
    causes: knowledge.causes,
    repair: knowledge.repair,
    services: knowledge.services,
    source: knowledge.source,
  };
}

/** The codes with a specific entry (tests and docs). */
export const SPECIFIC_CODES: readonly string[] = Object.keys(CODES).sort();
