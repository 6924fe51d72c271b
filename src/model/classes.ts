// One check, used wherever a model meets a dataset (eval, the CAM pass): same class count, and the same
// class names when the model recorded them.
import type { ModelMeta } from './io.js';
import { UserError } from '../util/errors.js';

export function checkModelClasses(what: string, numClasses: number, meta: ModelMeta, classNames: string[], dataName: string): void {
  if (numClasses !== classNames.length) {
    throw new UserError(`${what} predicts ${numClasses} classes but ${dataName} has ${classNames.length}; use a model trained on this dataset`);
  }
  if (meta.classNames && meta.classNames.join('\n') !== classNames.join('\n')) {
    // Name the first difference: the usual cause is the order (sorted folder names against classes.txt ids).
    const k = classNames.findIndex((c, i) => c !== meta.classNames![i]);
    const inBoth = meta.classNames.filter((c) => classNames.includes(c)).length;
    const order = inBoth === classNames.length ? ' (the same names in another order)' : '';
    throw new UserError(`${what} was trained on other classes than ${dataName}: class ${k} is ${JSON.stringify(meta.classNames[k])} for the model, ${JSON.stringify(classNames[k])} for the data${order}; the model's classes are ${listNames(meta.classNames)}, the data's ${listNames(classNames)}`);
  }
}

/** [a, b, c] whole when short, else the first three and how many more: never a '…' after the full list. */
const listNames = (names: string[]) => (names.length <= 4 ? `[${names.join(', ')}]` : `[${names.slice(0, 3).join(', ')}, and ${names.length - 3} more]`);
