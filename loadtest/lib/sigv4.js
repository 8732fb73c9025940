// AWS Signature Version 4 for k6 (no remote jslib is reachable here): the
// canonical request, string to sign and signing key of the AWS SigV4
// specification, computed with k6/crypto.
import crypto from 'k6/crypto';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED = 'UNSIGNED-PAYLOAD';

// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~.
export function uriEncode(s, keepSlash) {
  let out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  if (keepSlash) out = out.replace(/%2F/g, '/');
  return out;
}

function amzDates(now) {
  const iso = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20261130T120000Z
  return { amz: iso, day: iso.slice(0, 8) };
}

function hmac(key, data) {
  return crypto.hmac('sha256', key, data, 'binary');
}

// sign returns the headers to send (Host is set by k6 from the URL; it is
// signed here from host). payloadHash: a hex SHA-256 of the body, or UNSIGNED.
export function sign({ method, host, path, query, headers, payloadHash, region, accessKey, secretKey, now }) {
  const d = amzDates(now || new Date());
  const h = Object.assign({}, headers || {});
  h['x-amz-date'] = d.amz;
  h['x-amz-content-sha256'] = payloadHash || EMPTY_SHA256;
  const all = Object.assign({ host: host }, h);
  const names = Object.keys(all).map((k) => k.toLowerCase()).sort();
  const lower = {};
  for (const k of Object.keys(all)) lower[k.toLowerCase()] = String(all[k]).trim().replace(/\s+/g, ' ');
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const q = query || {};
  const canonicalQuery = Object.keys(q).sort().map((k) => `${uriEncode(k)}=${uriEncode(String(q[k]))}`).join('&');
  const canonicalRequest = [method, uriEncode(path, true), canonicalQuery, canonicalHeaders, signedHeaders, h['x-amz-content-sha256']].join('\n');
  const scope = `${d.day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', d.amz, scope, crypto.sha256(canonicalRequest, 'hex')].join('\n');
  const kDate = hmac('AWS4' + secretKey, d.day);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, 's3');
  const kSigning = hmac(kService, 'aws4_request');
  const signature = crypto.hmac('sha256', kSigning, stringToSign, 'hex');
  h['Authorization'] = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers: h, query: canonicalQuery };
}

export function sha256hex(body) {
  if (body === undefined || body === null || body === '') return EMPTY_SHA256;
  return crypto.sha256(body, 'hex');
}
