/**
 * sdcc_lab's JupyterLab plugins. This file only wires them together; each
 * feature's plugin creates its models and hands them to its views.
 */
import { inboxPlugin } from './inbox/plugin';
import { resourcesPlugin } from './resources/plugin';
import { sessionPlugin } from './session/plugin';
import { sharePlugin } from './share/plugin';
import { workspacePlugin } from './workspace/plugin';

export default [
  sessionPlugin,
  sharePlugin,
  resourcesPlugin,
  workspacePlugin,
  inboxPlugin
];
