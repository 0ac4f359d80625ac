/**
 * What analytics.js reads from `{cdnURL}/v1/projects/{writeKey}/settings` (Segment's CDN settings),
 * reduced to sending everything to Prisme: the Segment.io destination pointed at this API, no
 * device-mode destinations, no remote plugins, and no telemetry (which would go to Segment).
 */
export interface ApiLocation {
  /** Host and path prefix of the Tracking API, without scheme: `events.example.com/v1`. */
  apiHost: string;
  protocol: 'http' | 'https';
}

export const browserSettings = (writeKey: string, { apiHost, protocol }: ApiLocation) => ({
  integrations: {
    'Segment.io': {
      apiKey: writeKey,
      apiHost,
      protocol,
      // The bundled/unbundled lists name Segment's destinations: nothing Prisme needs in every event.
      addBundledMetadata: false,
      unbundledIntegrations: [],
      maybeBundledConfigIds: {},
    },
  },
  plan: {
    track: { __default: { enabled: true, integrations: {} } },
    identify: { __default: { enabled: true } },
    group: { __default: { enabled: true } },
  },
  edgeFunction: {},
  analyticsNextEnabled: true,
  middlewareSettings: {},
  enabledMiddleware: {},
  metrics: { sampleRate: 0 },
  legacyVideoPluginsEnabled: false,
  remotePlugins: [],
});

/**
 * Where browsers reach this API: `publicUrl` when set (a custom domain in front of API Gateway),
 * otherwise the host the request came to, over the scheme it came by.
 */
export function apiLocation(publicUrl: string | undefined, host: string, forwardedProto: string | undefined): ApiLocation {
  if (publicUrl) {
    const url = new URL(publicUrl);
    return { apiHost: `${url.host}${url.pathname.replace(/\/+$/, '')}/v1`, protocol: url.protocol === 'http:' ? 'http' : 'https' };
  }
  return { apiHost: `${host}/v1`, protocol: forwardedProto?.split(',')[0]?.trim() === 'http' ? 'http' : 'https' };
}
