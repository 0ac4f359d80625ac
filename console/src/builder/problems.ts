/**
 * Where the server found a condition invalid (the preview's 400 names each field by its path, such as
 * `condition.conditions.1.value`), so each part of the builder shows its own problems beside its fields.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { FieldProblem } from '../api';

export const ProblemsContext = createContext<readonly FieldProblem[]>([]);

/** The problems of the condition at `path` itself, not of the conditions inside it; each with the field it names. */
export function useProblemsAt(path: string): Array<{ field: string; message: string }> {
  const problems = useContext(ProblemsContext);
  return problems.flatMap((p) => {
    if (!p.path.startsWith(`${path}.`) && p.path !== path) return [];
    const field = p.path === path ? '' : p.path.slice(path.length + 1);
    // Deeper conditions show their own.
    if (/^(conditions\.\d+|condition)(\.|$)/.test(field)) return [];
    return [{ field, message: p.message }];
  });
}
