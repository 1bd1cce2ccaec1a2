/**
 * Two projects in one run:
 * - `lab`: galata tests against a plain JupyterLab with sdcc_lab;
 * - `portal`: a browser logs in to a real `sdcc-lab demo` portal (JupyterHub).
 * Ports are chosen free at run time by run.sh (LAB_PORT, DEMO_PORT).
 * Debian's chromium is used: this machine cannot download a browser.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const LAB_PORT = process.env.LAB_PORT || '8888';
const DEMO_PORT = process.env.DEMO_PORT || '8000';
const DEMO_DATA = process.env.DEMO_DATA || './.demo-data';
const DEMO_HOMES = process.env.DEMO_HOMES || `${DEMO_DATA}-homes`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

module.exports = {
  ...baseConfig,
  timeout: 120000,
  // One retry in CI against timing flukes of a shared 2-core machine; a broken test still fails.
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  reporter: [['list']],
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${LAB_PORT}`,
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic'
      ]
    }
  },
  projects: [
    // a11y.lab / keyboard.lab: the accessibility and keyboard specs of the project's JupyterLab widgets.
    { name: 'lab', testMatch: /(lab|resources|workers)\.spec\.ts$/ },
    {
      name: 'portal',
      testMatch: /(portal|share|folder|preview|inbox|notebook7|spawn|a11y|keyboard|pending|estimate|ends|extend|presets|restore)\.spec\.ts$/,
      use: { baseURL: `http://127.0.0.1:${DEMO_PORT}` }
    }
  ],
  webServer: [
    {
      command: 'jlpm start',
      url: `http://127.0.0.1:${LAB_PORT}/lab`,
      reuseExistingServer: false,
      timeout: 120000
    },
    {
      // As root: missing test users get accounts, sessions run as each user in DEMO_HOMES.
      // The password comes from SDCC_LAB_DEMO_PASSWORD (run.sh); the specs type DEMO_PASSWORD.
      command: `sdcc-lab demo --port ${DEMO_PORT} --data-dir ${DEMO_DATA} --home-root ${DEMO_HOMES} --create-users`,
      url: `http://127.0.0.1:${DEMO_PORT}/hub/login`,
      reuseExistingServer: false,
      timeout: 120000,
      gracefulShutdown: { signal: 'SIGTERM', timeout: 60000 }
    }
  ]
};
