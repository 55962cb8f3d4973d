/**
 * The principal of a TLS client certificate, as Kafka derives it: the certificate's subject as an
 * RFC 2253 distinguished name (what Java's `X500Principal.getName()` gives and what operators
 * write `ssl.principal.mapping.rules` against), then the first mapping rule that applies.
 *
 * The DN is built from `X509Certificate.subject` (Node: one line per RDN, in certificate order,
 * attributes of a multi-valued RDN joined by " + ", special characters already escaped as RFC
 * 2253 asks): the lines reversed (most specific RDN first), joined by ",", the attributes of a
 * multi-valued RDN reversed too and joined by "+", which is what `openssl x509 -nameopt RFC2253`
 * prints. Never from `getPeerCertificate().subject`: that object merges repeated attributes and
 * loses the RDN structure, so two different subjects could map to one principal.
 *
 * Rules (`ssl.principal.mapping.rules`, KIP-371): a comma list of `RULE:pattern/replacement/[LU]`
 * and `DEFAULT`. The first rule whose pattern matches the whole DN gives the name: every match of
 * the pattern in the DN is replaced by the replacement (`$1` back-references; `\` escapes), then
 * lower- (`/L`) or upper-cased (`/U`). `DEFAULT` gives the DN itself. No applicable rule: the
 * login fails. Patterns are Java regular expressions; the common subset (groups, classes, lazy
 * quantifiers, anchors) means the same in JavaScript, and one JavaScript refuses is a bad rule at
 * start.
 *
 * A subject with a multi-valued RDN ("OU=Ops+OU=Eng") is mapped only by an explicit RULE, never by
 * DEFAULT: the order of the attributes inside an RDN is not significant in X.500, so a DN string
 * of it is not a stable name to authorize.
 */

export type MappingRule =
  | { readonly kind: 'default' }
  | {
    readonly kind: 'rule';
    /** The rule as written, for messages. */
    readonly text: string;
    /** Anchored: the whole DN must match (Java's Matcher.matches()). */
    readonly whole: RegExp;
    /** Global: every match is replaced (Java's String.replaceAll). */
    readonly every: RegExp;
    /** The replacement in JavaScript's String.replace form. */
    readonly replacement: string;
    readonly caseChange: '' | 'L' | 'U';
  };

/** Kafka's default: the DN itself. */
export const DEFAULT_MAPPING_RULES = 'DEFAULT';

/**
 * Parses `ssl.principal.mapping.rules`. Throws an Error whose message names the bad rule.
 * Whitespace around rules and empty rules are ignored, as Kafka does; an empty list is allowed (then
 * every certificate login fails).
 */
export function parseMappingRules(text: string): MappingRule[] {
  const rules: MappingRule[] = [];
  let i = 0;
  // Kafka ignores empty rules: ",,RULE://,,DEFAULT," is two rules.
  const skipSpace = (): void => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  skipSpace();
  while (i < text.length) {
    const start = i;
    if (text.startsWith('DEFAULT', i)) {
      i += 'DEFAULT'.length;
      rules.push({ kind: 'default' });
    } else if (text.startsWith('RULE:', i)) {
      i += 'RULE:'.length;
      const pattern = readUntilSlash();
      const replacement = readUntilSlash();
      if (pattern === null || replacement === null) throw new Error(`bad mapping rule ${JSON.stringify(text.slice(start))}: expected RULE:pattern/replacement/[LU]`);
      let caseChange: '' | 'L' | 'U' = '';
      if (text[i] === 'L' || text[i] === 'U') caseChange = text[i++] as 'L' | 'U';
      const ruleText = text.slice(start, i);
      let whole: RegExp;
      let every: RegExp;
      try {
        whole = new RegExp(`^(?:${pattern})$`);
        every = new RegExp(pattern, 'g');
      } catch (err) {
        throw new Error(`bad mapping rule ${JSON.stringify(ruleText)}: the pattern is not a regular expression (${(err as Error).message})`);
      }
      rules.push({ kind: 'rule', text: ruleText, whole, every, replacement: javaReplacement(replacement), caseChange });
    } else {
      const end = text.indexOf(',', i);
      throw new Error(`bad mapping rule ${JSON.stringify(text.slice(i, end < 0 ? undefined : end))}: expected DEFAULT or RULE:pattern/replacement/[LU]`);
    }
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i < text.length && text[i] !== ',') {
      throw new Error(`bad mapping rule ${JSON.stringify(text.slice(start))}: unexpected ${JSON.stringify(text.slice(i))} after the rule`);
    }
    skipSpace();
  }
  return rules;

  /** Reads up to an unescaped "/", which it consumes; null when there is none. */
  function readUntilSlash(): string | null {
    let out = '';
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\' && i + 1 < text.length) {
        out += c + text[i + 1]!;
        i += 2;
      } else if (c === '/') {
        i++;
        return out;
      } else {
        out += c;
        i++;
      }
    }
    return null;
  }
}

/** Java's replacement syntax ($n groups, \x a literal x) in JavaScript's ($n groups, $$ a literal $). */
function javaReplacement(java: string): string {
  let out = '';
  for (let i = 0; i < java.length; i++) {
    const c = java[i]!;
    if (c === '\\' && i + 1 < java.length) {
      const lit = java[++i]!;
      out += lit === '$' ? '$$' : lit;
    } else if (c === '$' && /\d/.test(java[i + 1] ?? '')) {
      out += c;
    } else {
      out += c === '$' ? '$$' : c;
    }
  }
  return out;
}

export interface SubjectDn {
  /** RFC 2253, most specific RDN first. */
  readonly dn: string;
  /** Some RDN has more than one attribute. */
  readonly multiValued: boolean;
}

/** The RFC 2253 DN of a certificate subject as `X509Certificate.subject` prints it. */
export function rfc2253FromSubject(subject: string): SubjectDn {
  const lines = subject === '' ? [] : subject.split('\n');
  let multiValued = false;
  const rdns = lines.reverse().map((line) => {
    // Node escapes "+" inside values ("\+"), so " + " only ever separates attributes.
    const avas = line.split(' + ');
    if (avas.length > 1) multiValued = true;
    return avas.reverse().join('+');
  });
  return { dn: rdns.join(','), multiValued };
}

export type MappingResult = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string };

/** Applies the rules to a DN: the first that applies names the principal. */
export function mapDn(rules: readonly MappingRule[], subject: SubjectDn): MappingResult {
  for (const r of rules) {
    if (r.kind === 'default') {
      if (subject.multiValued) continue;
      return { ok: true, name: subject.dn };
    }
    if (!r.whole.test(subject.dn)) continue;
    r.every.lastIndex = 0;
    let name = subject.dn.replace(r.every, r.replacement);
    if (r.caseChange === 'L') name = name.toLowerCase();
    else if (r.caseChange === 'U') name = name.toUpperCase();
    return { ok: true, name };
  }
  const why = subject.multiValued ? ' (a multi-valued RDN is mapped only by an explicit RULE, never by DEFAULT)' : '';
  return { ok: false, reason: `no principal mapping rule applies to the certificate subject "${subject.dn}"${why}` };
}
