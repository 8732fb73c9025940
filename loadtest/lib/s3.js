// A small S3 client for k6 scenarios: path-style requests, SigV4-signed
// (lib/sigv4.js), one instance per endpoint.
import http from 'k6/http';
import { sign, sha256hex, UNSIGNED, uriEncode } from './sigv4.js';

export class S3 {
  constructor(endpoint, { accessKey, secretKey, region }) {
    this.endpoint = endpoint.replace(/\/$/, '');
    this.host = this.endpoint.replace(/^https?:\/\//, '');
    this.accessKey = accessKey;
    this.secretKey = secretKey;
    this.region = region;
  }

  request(method, bucket, key, { query, body, headers, tags, unsignedBody, responseType, expect } = {}) {
    const path = '/' + bucket + (key !== undefined ? '/' + key : '');
    const payloadHash = body === undefined ? undefined : unsignedBody ? UNSIGNED : sha256hex(body);
    const s = sign({
      method, host: this.host, path, query, headers, payloadHash,
      region: this.region, accessKey: this.accessKey, secretKey: this.secretKey,
    });
    const url = this.endpoint + uriEncode(path, true) + (s.query ? '?' + s.query : '');
    const params = { headers: s.headers, tags: tags || {}, responseType: responseType || 'text' };
    // expect: statuses that are answers, not failures (e.g. 404 while
    // polling). Only set when given: any responseCallback key, even
    // undefined, replaces k6's default (2xx/3xx expected).
    if (expect) params.responseCallback = http.expectedStatuses(...expect);
    return http.request(method, url, body === undefined ? null : body, params);
  }

  createBucket(bucket, region, tags) {
    const body = region && region !== 'us-east-1'
      ? `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`
      : undefined;
    return this.request('PUT', bucket, undefined, { body, tags });
  }
  put(bucket, key, body, tags) {
    // Large bodies go unsigned (allowed over TLS): hashing 16 MiB in JS per
    // request would measure k6, not the server.
    return this.request('PUT', bucket, key, { body, tags, unsignedBody: body.byteLength > 65536 || body.length > 65536 });
  }
  get(bucket, key, tags) { return this.request('GET', bucket, key, { tags, responseType: 'binary' }); }
  head(bucket, key, tags, expect) { return this.request('HEAD', bucket, key, { tags, expect }); }
  del(bucket, key, tags) { return this.request('DELETE', bucket, key, { tags }); }
  list(bucket, params, tags) { return this.request('GET', bucket, undefined, { query: Object.assign({ 'list-type': '2' }, params || {}), tags }); }
  deleteBucket(bucket, tags) { return this.request('DELETE', bucket, undefined, { tags }); }
}

// config reads the target from the environment (dev.env's variables).
export function config() {
  const env = __ENV;
  const need = (k) => {
    if (!env[k]) throw new Error(`${k} is not set (source the deployment's dev.env, or see loadtest/README.md)`);
    return env[k];
  };
  return {
    endpoint: need('MERIDIAN_S3_ENDPOINT'),
    endpoint2: env.MERIDIAN_S3_ENDPOINT_2 || env.MERIDIAN_S3_ENDPOINT_EU || env.MERIDIAN_S3_ENDPOINT,
    region: env.AWS_DEFAULT_REGION || env.AWS_REGION || 'us-east-1',
    region2: env.MERIDIAN_REGION_2 || 'eu-west-1',
    creds: { accessKey: need('AWS_ACCESS_KEY_ID'), secretKey: need('AWS_SECRET_ACCESS_KEY'), region: env.AWS_DEFAULT_REGION || 'us-east-1' },
  };
}
