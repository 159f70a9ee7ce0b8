import type { AccessPolicy } from '@allsource/service-kit';

/**
 * Who may do what on the control plane once API keys are configured (docs/security.md): the
 * health check and the dashboard page's own files are open (the page holds no data; it asks the
 * API with the operator's key); `/metrics` is open unless a metrics token is set; reading the
 * API needs `read`; operations on the cores need `admin`.
 */
export const controlPlaneAccessPolicy: AccessPolicy = (method, path) => {
  if (path === '/health' || path === '/' || path === '/dashboard' || path === '/dashboard/' || path.startsWith('/dashboard/assets/')) {
    return 'open';
  }
  if (path === '/metrics') return 'metrics';
  if (method === 'POST' && path.startsWith('/api/v1/operations/')) return 'admin';
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read';
  return 'admin';
};
