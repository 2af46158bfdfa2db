// The part of autocannon's API the bench uses (the package ships no types).
declare module "autocannon" {
  interface Histogram {
    average: number;
    p50: number;
    p99: number;
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
  interface Request {
    method?: string;
    path?: string;
    setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
  }
  function autocannon(options: {
    url: string;
    connections?: number;
    duration?: number;
    requests?: Request[];
  }): Promise<Result>;
  export default autocannon;
}
