// The layout stays one-way: routes → services → repositories, with domain/ (types and rules both
// sides share) below them all; no import cycle anywhere. `npm run lint:layout` checks it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    { name: 'repositories-below-services', severity: 'error', from: { path: '^repositories/' }, to: { path: '^(services|routes|plugins)/' } },
    { name: 'services-below-routes', severity: 'error', from: { path: '^services/' }, to: { path: '^(routes|plugins)/' } },
    { name: 'domain-at-the-bottom', severity: 'error', from: { path: '^domain/' }, to: { path: '^(services|repositories|routes|plugins|config)' } },
    { name: 'config-below-services', severity: 'error', from: { path: '^config(\\.ts$|/)' }, to: { path: '^(services|repositories|routes|plugins)/' } }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|test|scripts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' }
  }
}
