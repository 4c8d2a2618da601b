/**
 * The `rule` field of a job or demo request: the name of a registered aggregation rule (the
 * built-in ones and any a module registered with `registerRule` before the request is parsed),
 * checked at parse time with an error that lists the allowed names.
 */
import { z } from 'zod';
import { AMDM_DEFAULTS } from '../core/defaults.ts';
import { hasRule, ruleNames } from '../core/rule-registry.ts';

export const ruleField = z
  .string()
  .superRefine((rule, ctx) => {
    if (!hasRule(rule)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be one of ${ruleNames()
          .map((r) => `"${r}"`)
          .join(
            ', ',
          )} (the registered aggregation rules; \`amdm --import <module>\` registers more), got ${JSON.stringify(rule)}`,
      });
    }
  })
  .default(AMDM_DEFAULTS.rule);
