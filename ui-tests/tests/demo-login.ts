/**
 * The demo portal's login password: run.sh generates one per run and gives it
 * to `sdcc-lab demo` (SDCC_LAB_DEMO_PASSWORD) and to the specs (DEMO_PASSWORD).
 */
export const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? '';
