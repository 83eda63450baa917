import { MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLFieldConfig,
  type GraphQLSchema,
} from 'graphql';
import { ErrorCode, foundationError } from './errors.js';
import { hasScopes, type Principal } from './identity.js';

/** What a field (or its type) demands of the caller, read from its SDL directives. */
export interface FieldRequirement {
  /** `@authenticated`: any user or service, not anonymous. */
  authenticated: boolean;
  /**
   * The `scopes:` of each `@requiresScopes` (type and field may both have one): every entry
   * must hold, each being an OR of ANDs. Empty when the directive is absent.
   */
  scopes: string[][][];
}

/**
 * Enforces Federation's `@authenticated` and `@requiresScopes` in a subgraph: each field
 * carrying one (itself or through its type) checks the caller before its resolver runs.
 * A refusal is an error at that field's path (UNAUTHENTICATED for anonymous callers,
 * FORBIDDEN for callers without the scopes) while the rest of the operation resolves, so
 * such fields should be nullable. The router (`@apollo/gateway`) does not enforce these
 * directives itself, and subgraphs are where the data is, so they are the safer place.
 */
export function enforceAuthorization(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, _name, typeName, current) => {
      const type = current.getType(typeName);
      const typeDirectives = [
        ...(type?.astNode?.directives ?? []),
        ...(type?.extensionASTNodes.flatMap((node) => node.directives ?? []) ?? []),
      ];
      const requirement = requirementOf([...typeDirectives, ...(field.astNode?.directives ?? [])]);
      return requirement ? guarded(field, requirement) : field;
    },
  });
}

/** The requirement of a list of directives, or undefined when they demand nothing. */
export function requirementOf(
  directives: readonly ConstDirectiveNode[],
): FieldRequirement | undefined {
  let authenticated = false;
  const scopes: string[][][] = [];
  for (const directive of directives) {
    const name = directive.name.value.replace(/^federation__/, '');
    if (name === 'authenticated') authenticated = true;
    if (name === 'requiresScopes') {
      const arg = directive.arguments?.find((a) => a.name.value === 'scopes');
      const value: unknown = arg ? valueFromASTUntyped(arg.value) : [];
      const lists = Array.isArray(value) ? value.filter(Array.isArray) : [];
      scopes.push(lists.map((list) => list.map(String)));
    }
  }
  return authenticated || scopes.length > 0 ? { authenticated, scopes } : undefined;
}

/** Throws the error a caller gets for a field whose requirement it does not meet. */
export function checkRequirement(
  principal: Principal,
  requirement: FieldRequirement,
  where: string,
): void {
  if (principal.kind === 'anonymous') {
    throw foundationError(ErrorCode.UNAUTHENTICATED, `Sign in to see ${where}`);
  }
  for (const alternatives of requirement.scopes) {
    if (!hasScopes(principal, alternatives)) {
      const needed = alternatives.map((all) => all.join(' and ')).join(', or ');
      throw foundationError(ErrorCode.FORBIDDEN, `${where} needs the scope ${needed}`);
    }
  }
}

function guarded(
  field: GraphQLFieldConfig<unknown, unknown>,
  requirement: FieldRequirement,
): GraphQLFieldConfig<unknown, unknown> {
  const resolve = field.resolve ?? defaultFieldResolver;
  const { subscribe } = field;
  return {
    ...field,
    // A subscription field is checked when subscribing, before any event is listened to.
    ...(subscribe
      ? {
          subscribe(source, args, context, info) {
            const { principal } = context as { principal: Principal };
            checkRequirement(principal, requirement, `${info.parentType.name}.${info.fieldName}`);
            return subscribe(source, args, context, info);
          },
        }
      : {}),
    resolve(source, args, context, info) {
      const { principal } = context as { principal: Principal };
      checkRequirement(principal, requirement, `${info.parentType.name}.${info.fieldName}`);
      return resolve(source, args, context, info);
    },
  };
}
