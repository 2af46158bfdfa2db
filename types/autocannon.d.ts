// The part of autocannon's API the soak test and the benchmark use (the package ships no types).
declare module "autocannon" {
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
    max: number;
    total: number;
  }
  interface Result {
    requests: Histogram;
    latency: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
  }
  /** One of the `connections` autocannon keeps open. */
  interface Client {
    setHeaders(headers: Record<string, string>): void;
    on(event: "request", listener: () => void): void;
    on(event: "response", listener: (statusCode: number) => void): void;
  }
  interface Request {
    method?: string;
    path?: string;
    setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
  }
  function autocannon(options: {
    url: string;
    method?: string;
    connections?: number;
    duration?: number;
    requests?: Request[];
    setupClient?: (client: Client) => void;
  }): Promise<Result>;
  export default autocannon;
}
