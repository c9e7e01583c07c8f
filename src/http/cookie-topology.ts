import { getDomain } from 'tldts';

/** scheme + registrable domain (eTLD+1, with the Public Suffix List's private section). */
function siteOf(url: string): string | undefined {
  try {
    const { protocol, hostname } = new URL(url.replace('*', 'x'));
    const domain = getDomain(hostname, { allowPrivateDomains: true }) ?? hostname;
    return `${protocol}//${domain}`;
  } catch {
    return undefined;
  }
}

export const COOKIE_TOPOLOGY_ADVICE =
  'the refresh cookie (SameSite=Strict) only works same-site: serve the SPA and the API under one custom domain ' +
  '(app.example.com + api.example.com), or serve the API from the SPA origin through a rewrite; ' +
  'otherwise clients must use the body transport';

/**
 * Allowed origins that are cross-site to the API's public URL. Platform domains such as
 * onrender.com and vercel.app are public suffixes, so two services there are cross-site.
 */
export function crossSiteOrigins(publicUrl: string, origins: string[]): string[] {
  const apiSite = siteOf(publicUrl);
  return origins.filter((origin) => siteOf(origin) !== apiSite);
}
