/** The panel's icon: a small population scatter, the explorer's first chart. */
import { LabIcon } from '@jupyterlab/ui-components';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
  <g class="jp-icon3" fill="#616161">
    <path d="M1 1h1.2v12.8H15V15H1z"/>
    <circle cx="5" cy="10.5" r="1.3"/>
    <circle cx="8" cy="7.5" r="1.3"/>
    <circle cx="10.5" cy="9.5" r="1.3"/>
    <circle cx="12.5" cy="4" r="1.3"/>
  </g>
</svg>`;

export const explorerIcon = new LabIcon({ name: 'nasnb:explorer', svgstr: SVG });
