// A client that talks to the edge the way the PowerFlex CSI driver does through Dell's sidecar:
// goscaleio's request shapes, the tenant's Bearer token, and the sidecar's two Forwarded values
// naming the array (by systemID) and the plugin. The demo drives it; the e2e tests do too.
import { Agent, request, type Dispatcher } from 'undici';

export interface DriverOptions {
  /** The edge Envoy, e.g. https://127.0.0.1:8443 */
  edgeUrl: string;
  /** CA (PEM) that signed the edge's serving certificate. */
  edgeCa: string;
  /** The tenant's access token. */
  accessToken: string;
  systemId: string;
  /** The array endpoint as the driver's configuration names it (only logged by the server). */
  arrayEndpoint: string;
}

export interface Reply {
  status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export class PowerFlexDriver {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: DriverOptions) {
    this.dispatcher = new Agent({ connect: { ca: options.edgeCa } });
  }

  /** goscaleio's login; answered by storage-authz itself, never by the array. */
  login(): Promise<Reply> {
    return this.send('GET', '/api/login');
  }

  createVolume(name: string, storagePoolId: string, volumeSizeInKb: number): Promise<Reply> {
    return this.send('POST', '/api/types/Volume/instances/', {
      name,
      storagePoolId,
      volumeSizeInKb: String(volumeSizeInKb),
      volumeType: 'ThinProvisioned',
    });
  }

  getVolume(volumeId: string): Promise<Reply> {
    return this.send('GET', `/api/instances/Volume::${volumeId}/`);
  }

  /** ControllerExpandVolume: goscaleio's setVolumeSize takes whole GiB as a string. */
  expandVolume(volumeId: string, sizeInGB: number): Promise<Reply> {
    return this.send('POST', `/api/instances/Volume::${volumeId}/action/setVolumeSize/`, { sizeInGB: String(sizeInGB) });
  }

  /** GetCapacity's maximum volume size: a read-only query action. */
  systemLimits(): Promise<Reply> {
    return this.send('POST', '/api/instances/System/action/querySystemLimits/', {});
  }

  deleteVolume(volumeId: string): Promise<Reply> {
    return this.send('POST', `/api/instances/Volume::${volumeId}/action/removeVolume/`, { removeMode: 'ONLY_ME' });
  }

  mapVolume(volumeId: string, sdcId: string): Promise<Reply> {
    return this.send('POST', `/api/instances/Volume::${volumeId}/action/addMappedSdc/`, { sdcId, allowMultipleMappings: 'TRUE', accessMode: 'ReadWrite' });
  }

  unmapVolume(volumeId: string, sdcId: string): Promise<Reply> {
    return this.send('POST', `/api/instances/Volume::${volumeId}/action/removeMappedSdc/`, { sdcId, skipApplianceValidation: 'TRUE' });
  }

  snapshot(volumeId: string, snapshotName: string): Promise<Reply> {
    return this.send('POST', `/api/instances/System::${this.options.systemId}/action/snapshotVolumes/`, { snapshotDefs: [{ volumeId, snapshotName }] });
  }

  approveSdc(sdcGuid: string): Promise<Reply> {
    return this.send('POST', `/api/instances/System::${this.options.systemId}/action/approveSdc/`, { sdcGuid });
  }

  /** Any request, for path tricks and raw bodies. */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await request(`${this.options.edgeUrl}${path}`, {
      method: method as Dispatcher.HttpMethod,
      dispatcher: this.dispatcher,
      headers: {
        authorization: `Bearer ${this.options.accessToken}`,
        forwarded: [
          `for=csm-authorization;${this.options.arrayEndpoint};${this.options.systemId}`,
          'by=csm-authorization;csi-vxflexos',
        ],
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: parseJsonOrText(text), headers: response.headers };
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
