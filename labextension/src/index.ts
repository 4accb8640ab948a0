/**
 * Wiring only: the NAS Explorer panel, its command, palette, launcher and toolbar entries.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { CommandToolbarButton } from '@jupyterlab/ui-components';

import { explorerIcon } from './icon';
import { ExplorerPanel } from './panel';

namespace CommandIDs {
  export const open = 'nasnb:open-explorer';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nasnb-explorer:plugin',
  description: "A side panel showing the active notebook's nasnb explorer.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, ILauncher],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ) => {
    const panel = new ExplorerPanel(tracker, app.serviceManager.contents);
    panel.title.icon = explorerIcon;
    // A tab in the right side bar; the panel asks kernels nothing until it is first shown.
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, 'nasnb-explorer');

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open NAS Explorer',
      caption: "Show the active notebook's nasnb explorer in the right side bar",
      icon: explorerIcon,
      execute: () => app.shell.activateById(panel.id)
    });

    palette?.addItem({ command: CommandIDs.open, category: 'NAS' });
    launcher?.add({ command: CommandIDs.open, category: 'Other', rank: 50 });
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (notebook: NotebookPanel) => {
        const button = new CommandToolbarButton({ commands: app.commands, id: CommandIDs.open, label: '' });
        notebook.toolbar.insertAfter('cellType', 'nasnbExplorer', button);
        return button;
      }
    });
  }
};

export default plugin;
