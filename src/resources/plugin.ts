/**
 * The resources plugin: the Session resources sidebar, the status-bar
 * countdown, end-of-job warnings and auto-save, and their settings.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { ResourcesModel } from './model';
import { ResourcesPanel, resourcesIcon } from './panel';
import { RemainingTimeItem } from './statusbar';
import {
  DEFAULT_SETTINGS,
  IResourcesSettings,
  ResourcesCommandIDs
} from './types';
import { EndOfJobGuard } from './warnings';
import { WorkersModel } from './workersmodel';

const PLUGIN_ID = 'sdcc-lab:resources';

function readSettings(
  settings: ISettingRegistry.ISettings
): IResourcesSettings {
  const composite = settings.composite as Partial<IResourcesSettings>;
  return {
    usageInterval: Math.max(
      1,
      Number(composite.usageInterval ?? DEFAULT_SETTINGS.usageInterval)
    ),
    warningMinutes: Array.isArray(composite.warningMinutes)
      ? composite.warningMinutes.map(Number)
      : DEFAULT_SETTINGS.warningMinutes,
    autosave: composite.autosave ?? DEFAULT_SETTINGS.autosave,
    autosaveMinutes: Number(
      composite.autosaveMinutes ?? DEFAULT_SETTINGS.autosaveMinutes
    ),
    memoryWarningPercent:
      composite.memoryWarningPercent === null ||
      composite.memoryWarningPercent === undefined
        ? null
        : Number(composite.memoryWarningPercent)
  };
}

export const resourcesPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Session resources: job limits, usage against them, the wall-time countdown, warnings and auto-save before the end.',
  autoStart: true,
  optional: [
    ISettingRegistry,
    IStatusBar,
    ITranslator,
    ICommandPalette,
    IDocumentManager,
    ILayoutRestorer
  ],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    statusBar: IStatusBar | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');
    const model = new ResourcesModel({
      usageInterval: DEFAULT_SETTINGS.usageInterval * 1000
    });
    const workers = new WorkersModel();
    const panel = new ResourcesPanel(model, workers, trans);
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, panel.id);
    const guard = new EndOfJobGuard(app, model, docManager, trans);

    app.commands.addCommand(ResourcesCommandIDs.open, {
      label: trans.__('Show Session Resources'),
      caption: trans.__('Job limits, usage and the time left in this session'),
      icon: resourcesIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(ResourcesCommandIDs.saveAll, {
      label: trans.__('Save All Documents Before the Job Ends'),
      execute: () => guard.saveAll()
    });
    palette?.addItem({
      command: ResourcesCommandIDs.open,
      category: 'sdcc_lab'
    });
    // The warnings' "Save all" from the keyboard too (Ctrl+Shift+C).
    palette?.addItem({
      command: ResourcesCommandIDs.saveAll,
      category: 'sdcc_lab'
    });

    if (statusBar) {
      const item = new RemainingTimeItem(model, trans, () =>
        app.shell.activateById(panel.id)
      );
      statusBar.registerStatusItem('sdcc-lab:resources-time', {
        item,
        align: 'left',
        rank: 50,
        isActive: () => model.remaining() !== null,
        activeStateChanged: model.changed
      });
    }

    if (registry) {
      void Promise.all([registry.load(PLUGIN_ID), app.restored])
        .then(([settings]) => {
          const apply = (): void => {
            const s = readSettings(settings);
            model.usageInterval = s.usageInterval * 1000;
            guard.settings = s;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error(
            `sdcc_lab: cannot load the settings of ${PLUGIN_ID}`,
            reason
          );
        });
    }
  }
};
