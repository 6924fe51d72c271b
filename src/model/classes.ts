// One check, used wherever a model meets a dataset (eval, the CAM pass): same class count, and the same
// class names when the model recorded them.
import type { ModelMeta } from './io.js';
import { UserError } from '../util/errors.js';

export function checkModelClasses(what: string, numClasses: number, meta: ModelMeta, classNames: string[], dataName: string): void {
  if (numClasses !== classNames.length) {
    throw new UserError(`${what} predicts ${numClasses} classes but ${dataName} has ${classNames.length}; use a model trained on this dataset`);
  }
  if (meta.classNames && meta.classNames.join('\n') !== classNames.join('\n')) {
    throw new UserError(`${what} was trained on classes [${meta.classNames.slice(0, 3).join(', ')}, …] but ${dataName} has [${classNames.slice(0, 3).join(', ')}, …]`);
  }
}
