// How a parameter starts: the initialisers ParamStore (nn/params.ts) fills variables with. Its own
// file, below the layers, so that a layer can name them without importing the store.

export type Initializer =
  /** N(0, 2 / fan_out): torchvision's kaiming_normal_(mode='fan_out') for convs before ReLU/BN. */
  | { kind: 'kaiming-normal-out'; fanOut: number }
  /** U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv weights and biases. */
  | { kind: 'torch-default'; fanIn: number }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; lo: number; hi: number }
  | { kind: 'constant'; value: number };
