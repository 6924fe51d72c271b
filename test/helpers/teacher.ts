// A small untrained zoo teacher: CAMs need a model with a CAM head, not a good one.
import { buildResNet } from '../../src/model/zoo.js';
import { saveModel, DEFAULT_PREPROCESS } from '../../src/model/io.js';
import { initBackend } from '../../src/model/backend.js';
import { teacherHandle, type Teacher } from '../../src/model/teacher.js';

export async function makeTeacher(dir: string, classNames: string[], size: number, seed = 1): Promise<void> {
  const model = buildResNet({ inputSize: size, numClasses: classNames.length, width: 8, depth: 1, stages: 2, seed });
  await saveModel(model, dir, { classNames, inputSize: size, preprocess: DEFAULT_PREPROCESS });
  model.dispose();
}

/** A run's teacher handle on wasm, as the CLI makes it (tfjs teachers need the wasm backend started first). */
export async function wasmTeacher(dir: string): Promise<Teacher> {
  await initBackend('wasm');
  return teacherHandle(dir, {}, { backend: 'wasm' });
}
