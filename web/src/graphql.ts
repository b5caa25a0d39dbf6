import { initGraphQLTada } from "gql.tada";
import type { introspection } from "./graphql-env.d.ts";

/** Operations typed from the committed ../schema.graphql (see tsconfig's gql.tada plugin). */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: {
    ID: string;
    Date: string;
    DateTime: string;
    Time: string;
    GeoJSON: GeoJSONValue;
    H3Cell: string;
  };
}>();

export type GeoJSONValue = { type: string; [key: string]: unknown };
export type { FragmentOf, ResultOf, VariablesOf } from "gql.tada";
export { readFragment } from "gql.tada";
