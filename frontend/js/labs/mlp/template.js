// The page of the MLP playground: data, network and output columns, after TensorFlow Playground.
import { FORK_MARKUP } from "../../view/index.js";

export const TEMPLATE = `
  <div class="columns">
    <section class="column data-column">
      <h2>Data</h2>
      <div class="control-label">Which dataset do you want to use?</div>
      <div class="datasets" data-ref="datasets" data-control="dataset"></div>
      <div data-ref="dataControls"></div>
      <button class="text-button" data-ref="regenerate" data-control="seed">Regenerate</button>
      <h2 class="section-gap">Network</h2>
      <div class="param-grid" data-ref="buildControls"></div>
      <h3>Activation <span class="hint">f (solid) and f′ (dashed)</span></h3>
      <canvas class="activation-plot" data-ref="activation" aria-label="activation and its derivative"></canvas>
    </section>
    <section class="column network-column">
      <div class="network-header">
        <h2>Features</h2>
        <div class="layers-control" data-control="hidden">
          <button class="round tiny" data-ref="addLayer" title="add a hidden layer">+</button>
          <button class="round tiny" data-ref="removeLayer" title="remove a hidden layer">−</button>
          <h2><span data-ref="layerCount">2</span> hidden layers</h2>
        </div>
      </div>
      <div class="network" data-ref="network"></div>
      <div class="grad-panel">
        <h3>Gradient norm per layer <span class="hint">‖∂L/∂W‖, last step</span></h3>
        <div class="grad-norms" data-ref="gradNorms"></div>
        <h3>Update / weight per layer <span class="hint">‖ΔW‖/‖W‖ of one step (≈1e-3 is healthy)</span></h3>
        <div class="grad-norms" data-ref="ratios"></div>
        <h3>Gradient norm, layer × step <span class="hint">log₁₀, sampled each frame</span></h3>
        <div class="grad-heatmap" data-ref="heatmap"></div>
        <h3>Histograms of <select data-ref="histLayer" aria-label="layer for the histograms"></select></h3>
        <div class="histograms">
          <canvas data-ref="histWeights" aria-label="weight histogram"></canvas>
          <canvas data-ref="histGrads" aria-label="gradient histogram"></canvas>
        </div>
        <h3>Optimizer state <span class="hint" data-ref="stateHint">per layer</span></h3>
        <div data-ref="optState"></div>
      </div>
    </section>
    <section class="column output-column">
      <div class="output-head"><h2>Output</h2><button class="text-button small" data-ref="showCode" title="the plain PyTorch code of this setup">&lt;/&gt; Show the code</button></div>
      <div class="losses">
        <div>Test loss <span class="num" data-ref="testLoss">—</span></div>
        <div>Training loss <span class="num" data-ref="trainLoss">—</span></div>
        <div data-ref="accuracyLine">Test accuracy <span class="num" data-ref="testAcc">—</span></div>
      </div>
      <div class="loss-chart" data-ref="chart"></div>
      <div class="saved-runs">
        ${FORK_MARKUP}
        <button class="text-button small" data-ref="saveRun" title="keep this run's test-loss curve on the chart, to compare with the next">Save this run</button>
        <button class="text-button small" data-ref="clearRuns" hidden>Clear saved</button>
        <label class="check log-scale" data-control="log_loss"><input type="checkbox" data-ref="logLoss"> log scale</label></div>
      <div class="boundary-wrap">
        <canvas class="boundary" width="480" height="480" data-ref="boundary" aria-label="decision boundary"></canvas>
        <div class="axis-labels"><span>−6</span><span class="hover-note" data-ref="hoverNote"></span><span>6</span></div>
      </div>
      <div class="legend">
        <span class="legend-scale" data-ref="valueLegend"><span class="swatch neg"></span> −1 <span class="gradient"></span> +1 <span class="swatch pos"></span></span>
        <span class="legend-scale" data-ref="classLegend" hidden></span>
        <label class="check" data-control="show_test"><input type="checkbox" data-ref="showTest"> show test data</label>
        <label class="check" data-control="discretize"><input type="checkbox" data-ref="discretize"> discretize output</label>
      </div>
      <div class="draw-tools" data-control="drawn">
        <span>Draw points:</span>
        <span class="draw-classes" data-ref="drawClasses"></span>
        <button class="text-button small" data-ref="clearDrawn">clear</button>
        <span class="hint num" data-ref="drawnCount"></span>
      </div>
      <h3>Learning rate <span class="hint">the whole schedule; the red dot is now (<span class="num" data-ref="lrNow">—</span>)</span></h3>
      <div class="schedule-chart" data-ref="schedule"></div>
      <div class="param-grid" data-ref="schedControls"></div>
      <h3>Optimizer <span class="hint" data-ref="optLabel"></span></h3>
      <div class="param-grid" data-ref="optControls"></div>
    </section>
  </div>`;
