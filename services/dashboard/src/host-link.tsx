// A server's host, linked to the host view when the name can name one (a host metrics room).
import { HOST_ID_PATTERN } from '@vigil/protocol';
import { hostHref } from './router.js';

const hostIdRe = new RegExp(HOST_ID_PATTERN);

export function HostLink({ host }: { host: string }) {
  if (!hostIdRe.test(host)) return <>{host}</>;
  return (
    <a href={hostHref(host)} class="host-link" data-host-link={host} title={`Host metrics of ${host}`}>
      {host}
    </a>
  );
}
