/** One page of a list (REST `?limit&offset`), with the total the filter matches. */
export interface Page<T> {
  readonly items: T[];
  readonly total: number;
}

export interface PageQuery {
  readonly limit: number;
  readonly offset: number;
}
