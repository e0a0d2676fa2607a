// Compiled validators: validation at the boundary, with a message that says what is wrong where.
import type { Static, TSchema } from '@sinclair/typebox';
import type { ValueError } from '@sinclair/typebox/errors';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

export type Validator<T extends TSchema> = {
  check(value: unknown): value is Static<T>;
  /** A short human-readable explanation, or null when the value is valid. */
  explain(value: unknown): string | null;
};

export type CompileOptions = {
  /**
   * Generate the checker's code (fast; needs `new Function`, which a strict Content-Security-Policy
   * forbids in browsers). Default true; browser code passes false and interprets the schema.
   */
  codegen?: boolean;
};

export function compile<T extends TSchema>(schema: T, options: CompileOptions = {}): Validator<T> {
  const checker =
    options.codegen === false
      ? { Check: (v: unknown) => Value.Check(schema, v), Errors: (v: unknown) => Value.Errors(schema, v) }
      : TypeCompiler.Compile(schema);
  return {
    check: (value: unknown): value is Static<T> => checker.Check(value),
    explain(value: unknown): string | null {
      if (checker.Check(value)) return null;
      const first = deepest(checker.Errors(value).First());
      if (!first) return 'invalid value';
      const where = first.path === '' ? 'payload' : first.path;
      return `${where}: ${first.message}`.slice(0, 300);
    },
  };
}

/** JSON.parse that never throws and refuses prototype-polluting keys. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value) => (key === '__proto__' || key === 'constructor' ? undefined : value));
  } catch {
    return undefined;
  }
}

/**
 * "Expected union value" says little: when every branch of a union failed, explain with the
 * branch that got furthest (the longest path of its first error), e.g. an ok ack's extra field.
 */
function deepest(error: ValueError | undefined): ValueError | undefined {
  if (!error || error.errors.length === 0) return error;
  let best: ValueError | undefined;
  for (const branch of error.errors) {
    const candidate = deepest(branch.First());
    if (candidate && (!best || candidate.path.length > best.path.length)) best = candidate;
  }
  return best && best.path.length > error.path.length ? best : error;
}
